export default defineEventHandler(async () => {
  const queue = useQueueAdapter()
  const [counts, jobs, processed] = await Promise.all([
    queue.getJobCounts('orders'),
    queue.getJobs('orders', { limit: 20 }),
    useStoreAdapter().kv.get('playground:processed'),
  ])
  return { counts, jobs, processed: processed ?? 0 }
})
