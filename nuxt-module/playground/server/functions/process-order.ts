// A worker function: job name "process-order" (the file name) on queue "orders".
export const config = defineFunctionConfig({
  queue: { name: 'orders' },
  worker: { concurrency: 2 },
})

export default defineFunction<{ item: string }, { item: string, total: number }>(async (job, ctx) => {
  for (const progress of [25, 50, 75]) {
    await new Promise(resolve => setTimeout(resolve, 150))
    await ctx.updateProgress(progress)
  }
  await useStoreAdapter().kv.increment('playground:processed')
  return { item: job.data.item, total: job.data.item.length * 10 }
})
