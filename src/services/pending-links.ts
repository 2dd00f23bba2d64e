/**
 * Settles links whose exchange request died between Plaid's exchange and storing the Item
 * (store/pending-links.ts): a user's object with such a link queues this job once the link's
 * grace period is over. Each link is finished as the request would have (link-storage.ts), or,
 * when it cannot be (a duplicate, an Item Plaid refuses), removed at Plaid so it is not billed.
 * A link that cannot be settled now (Plaid or storage unreachable) stays for the next try.
 */
import type { ServiceContext } from '../context'
import { isItemGone, isTransient, PlaidApiError } from '../plaid/errors'
import type { PendingLink } from '../store/pending-links'
import { userStore } from '../store/user-store'
import { openSealedToken } from './access-token'
import { isDuplicateError, removeAtPlaid, storeLinkedItem } from './link-storage'

/** Settles the pending links of the object `objectId` that are past their grace period. */
export async function finishStalePendingLinks(ctx: ServiceContext, objectId: string): Promise<void> {
  const { config, log } = ctx
  const stub = config.users.get(config.users.idFromString(objectId))
  const cutoff = new Date(Date.now() - config.pendingLinkGraceMs).toISOString()
  const { userId, links } = await stub.stalePendingLinks(cutoff)
  if (userId === null) return
  let unsettled = 0
  for (const link of links) {
    try {
      await settlePendingLink(ctx, userId, link)
    } catch (error) {
      unsettled++
      log('error', 'pending link not settled; it is tried again later', {
        item_id: link.item_id,
        error: error instanceof Error ? error.name : 'unknown',
      })
    }
  }
  if (unsettled > 0) throw new Error(`${unsettled} pending links not settled`)
}

/** Finishes the link for its user, or removes it at Plaid; throws when neither can be done now. */
export async function settlePendingLink(
  ctx: ServiceContext,
  userId: string,
  link: PendingLink,
): Promise<'stored' | 'removed' | 'gone'> {
  const { config, log } = ctx
  const fields = { item_id: link.item_id }
  const sealed = sealedTokenOf(link)
  const accessToken = await openSealedToken(config, userId, link.item_id, sealed)
  try {
    await storeLinkedItem(
      ctx,
      userId,
      { itemId: link.item_id, accessToken, sealed, publicTokenHash: link.public_token_hash },
      { institution: { institution_id: link.institution_id ?? undefined, name: link.institution_name ?? undefined } },
    )
    log('warn', 'pending link finished: the request that exchanged it stopped before storing it', fields)
    return 'stored'
  } catch (error) {
    if (isItemGone(error)) {
      await userStore(config, userId).dropPendingLink(userId, link.item_id)
      log('warn', 'pending link dropped: Plaid no longer knows its Item', fields)
      return 'gone'
    }
    // A duplicate of an Item the user has, or an Item Plaid will not let be stored as it is: the
    // user never saw it, so it is removed rather than left billed. Anything else may pass.
    const duplicate = isDuplicateError(error)
    const refused = error instanceof PlaidApiError && !isTransient(error)
    if (!duplicate && !refused) throw error
    const reason = error instanceof Error ? error.message : 'unknown'
    if (!(await removeAtPlaid(ctx, accessToken, link.item_id, reason))) throw error
    await userStore(config, userId).dropPendingLink(userId, link.item_id)
    log('warn', 'pending link removed at Plaid: it could not be stored', fields)
    return 'removed'
  }
}

/** Removes a pending link at Plaid (an Item Plaid no longer knows counts as removed), then here. */
export async function removePendingLink(ctx: ServiceContext, userId: string, link: PendingLink): Promise<void> {
  try {
    await ctx.plaid.removeItem(await openSealedToken(ctx.config, userId, link.item_id, sealedTokenOf(link)))
  } catch (error) {
    if (!isItemGone(error)) throw error
  }
  await userStore(ctx.config, userId).dropPendingLink(userId, link.item_id)
}

const sealedTokenOf = (link: PendingLink) => ({ sealed: link.access_token_sealed, keyId: link.access_token_key_id })
