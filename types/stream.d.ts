// Types of the stream slice.
export {}
