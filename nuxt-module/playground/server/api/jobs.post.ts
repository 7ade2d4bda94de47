export default defineEventHandler(async (event) => {
  const { item = 'book' } = await readBody<{ item?: string }>(event).catch(() => ({}))
  const id = await useQueueAdapter().enqueue('orders', { name: 'process-order', data: { item } })
  return { id }
})
