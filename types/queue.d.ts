// Types of the queue slice.
export {}
