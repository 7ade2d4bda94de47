// Types of the coordinator slice.
export {}
