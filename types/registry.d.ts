// Types of the registry slice.
export {}
