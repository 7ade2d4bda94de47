// Types of the store slice.
export {}
