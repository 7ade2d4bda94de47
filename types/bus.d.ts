// Types of the bus slice.
export {}
