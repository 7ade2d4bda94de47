// GET <sse.route>?topic=<topic>: forwards one stream-adapter topic (wildcards allowed) to the
// browser as server-sent events. Each published event arrives as `data: <JSON>\n\n`; the
// first message is `event: nvent:subscribed` once the subscription is live. The subscription
// ends when the client disconnects. There is no authentication here: protect the route with
// server middleware (see the README).
import { createError, createEventStream, defineEventHandler, getQuery } from '#imports'
import { useStreamAdapter } from '../utils/adapters'

const PING_MS = 25_000

export default defineEventHandler(async (event) => {
  const topic = getQuery(event).topic
  if (typeof topic !== 'string' || topic === '') {
    throw createError({ statusCode: 400, statusMessage: 'Query parameter "topic" is required' })
  }
  const stream = useStreamAdapter()
  const events = createEventStream(event)
  let handle: { unsubscribe: () => unknown }
  try {
    handle = await stream.subscribe(topic, (message: unknown) => {
      events.push(JSON.stringify(message)).catch(() => {})
    })
  }
  catch (error) {
    const code = (error as { code?: string }).code
    if (code === 'NVENT_INVALID_NAME' || code === 'NVENT_INVALID_ARGUMENT') {
      throw createError({ statusCode: 400, statusMessage: (error as Error).message })
    }
    throw error
  }
  // h3's event stream cannot send comments; a named `ping` event (which `onmessage` ignores)
  // keeps proxies from closing an idle connection.
  const ping = setInterval(() => {
    events.push({ event: 'ping', data: '' }).catch(() => {})
  }, PING_MS)
  ping.unref?.()
  events.onClosed(async () => {
    clearInterval(ping)
    await handle.unsubscribe()
  })
  events.push({ event: 'nvent:subscribed', data: JSON.stringify({ topic }) }).catch(() => {})
  return events.send()
})
