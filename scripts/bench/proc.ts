/** What /proc tells of the Worker's workerd processes: which they are, their CPU time and memory. */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'

export const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** User plus system CPU time of the processes so far, in ms (/proc/<pid>/stat, in clock ticks of 10 ms). */
export function cpuMs(pids: number[]): number {
  return statCpuMs(pids.map((pid) => `/proc/${pid}/stat`))
}

/**
 * The CPU time of the processes' main threads only, in ms: the thread workerd runs its isolates
 * on, so what Cloudflare counts as a Worker's CPU time. V8's background threads (compiling and
 * collecting garbage) are left out; their share comes in bursts that swamp a figure per request.
 */
export function mainThreadCpuMs(pids: number[]): number {
  return statCpuMs(pids.map((pid) => `/proc/${pid}/task/${pid}/stat`))
}

function statCpuMs(paths: string[]): number {
  if (paths.length === 0) return Number.NaN
  return sum(
    paths.map((path) => {
      try {
        const stat = readFileSync(path, 'utf8')
        const [utime, stime] = stat
          .slice(stat.lastIndexOf(')') + 2)
          .split(' ')
          .slice(11, 13)
          .map(Number)
        return ((utime ?? Number.NaN) + (stime ?? Number.NaN)) * 10
      } catch {
        return Number.NaN
      }
    }),
  )
}

/**
 * The workerd processes in the process group of `leader` (wrangler's supervisor). wrangler starts
 * two: one runs the Worker with its D1 and queue, the only one started with an inspector
 * (`--inspector-addr`); the other serves wrangler's dev proxy on the API port. If that flag ever
 * goes, every workerd of the group counts as the Worker's.
 */
export function workerdPids(leader: number): { worker: number[]; proxy: number[] } {
  const all: { pid: number; runsWorker: boolean }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const [, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (comm !== 'workerd' || Number(pgrp) !== leader) continue
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      all.push({ pid: Number(entry), runsWorker: args.some((a) => a.startsWith('--inspector-addr')) })
    } catch {
      // the process exited while we looked
    }
  }
  const found = all.some((p) => p.runsWorker)
  return {
    worker: all.filter((p) => !found || p.runsWorker).map((p) => p.pid),
    proxy: all.filter((p) => found && !p.runsWorker).map((p) => p.pid),
  }
}

/** A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or NaN if the process is gone. */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** Samples the summed VmRSS of `pids` every `intervalMs` until stopped; the peak includes both ends. */
function sampleRss(pids: number[], intervalMs = 20) {
  let peakKiB = 0
  let samples = 0
  const take = () => {
    const total = sum(pids.map((pid) => statusKiB(pid, 'VmRSS')))
    if (Number.isFinite(total)) peakKiB = Math.max(peakKiB, total)
    samples++
  }
  take()
  const timer = setInterval(take, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { peakKiB, samples }
    },
  }
}

/**
 * Resets the kernel's peak-RSS counter (VmHWM) of `pid` (`echo 5 > /proc/<pid>/clear_refs`), so
 * VmHWM afterwards is the true peak, spikes between our samples included. False if not allowed.
 */
function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return true
  } catch {
    return false
  }
}

export type RssSeries = { pids: number[]; baselineKiB: number; peakKiB: number; hwmKiB: number; samples: number }

/** Starts watching the summed RSS of `pids`: the baseline now, then samples until `stop()`. */
export function watchRss(pids: number[]) {
  const hwmReset = pids.every(resetPeakRss)
  const baselineKiB = sum(pids.map((pid) => statusKiB(pid, 'VmRSS')))
  const sampler = sampleRss(pids)
  return {
    stop(): RssSeries {
      const { peakKiB, samples } = sampler.stop()
      const hwmKiB = hwmReset ? sum(pids.map((pid) => statusKiB(pid, 'VmHWM'))) : Number.NaN
      return { pids, baselineKiB, peakKiB, hwmKiB, samples }
    },
  }
}
