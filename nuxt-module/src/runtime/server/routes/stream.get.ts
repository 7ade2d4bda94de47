// GET <sse.route>?topic=<topic>: forwards one stream-adapter topic (wildcards allowed) to the
// browser as server-sent events. Each published event arrives as `data: <JSON>\n\n`; the
// first message is `event: nvent:subscribed` once the subscription is live. The subscription
// ends when the client disconnects. The route exists only when `sse.topics` is configured
// (SPEC §10): a topic outside those patterns gets 403, and the Nitro runtime hook
// 'nvent:sse:authorize'(event, topic) runs before each subscription; a handler that throws
// (e.g. `createError({ statusCode: 401 })`) refuses the request with that error.
import { topics } from '#nvent/sse'
import { createError, createEventStream, defineEventHandler, getQuery, useNitroApp } from '#imports'
import { topicAllowed } from '../../config'
import { useStreamAdapter } from '../utils/adapters'

const PING_MS = 25_000

export default defineEventHandler(async (event) => {
  const topic = getQuery(event).topic
  if (typeof topic !== 'string' || topic === '') {
    throw createError({ statusCode: 400, statusMessage: 'Query parameter "topic" is required' })
  }
  if (!topicAllowed(topic, topics)) {
    throw createError({ statusCode: 403, statusMessage: 'Topic not allowed: add it to `nvent.sse.topics`' })
  }
  await useNitroApp().hooks.callHook('nvent:sse:authorize', event, topic)
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
