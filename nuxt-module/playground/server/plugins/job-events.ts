// Forward the queue's job events to a stream topic; the page listens to it over SSE
// (GET /api/_nvent/stream?topic=playground:jobs).
const JOBS_TOPIC = 'playground:jobs'

export default defineNitroPlugin((nitroApp) => {
  nitroApp.hooks.hook('nvent:ready', ({ queue, stream }) => {
    for (const event of ['waiting', 'active', 'progress', 'completed', 'failed'] as const) {
      queue.on('orders', event, (payload: Record<string, unknown>) => {
        stream.publish(JOBS_TOPIC, { type: `job.${event}`, data: payload }).catch(() => {})
      })
    }
  })
})
