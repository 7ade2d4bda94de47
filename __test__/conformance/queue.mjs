// Conformance suite of the queue adapter (placeholder: filled by the queue slice).
export default function queueSuite(_backend) {}
