import type { Config } from '../env'

/**
 * The user's object. Called from a user's request, this creates it near that request if it is new;
 * background jobs (queue, cron) call it only for users the D1 index names, whose object exists.
 */
export const userStore = (config: Config, userId: string) => config.users.get(config.users.idFromName(userId))

export type UserStoreStub = ReturnType<typeof userStore>
