// Kotlin helpers over the generated rapport_ffi bindings, copied next to
// them by scripts/bindings.sh (ship this file with rapport_ffi.kt).
package uniffi.rapport_ffi

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow

/**
 * The live updates of this replica as a cold [Flow]: collecting it opens the
 * live connection ([Replica.watch]) and emits a [LiveUpdate] (which accounts
 * changed) each time other devices' edits are applied; cancelling the
 * collection stops the watch. The flow fails with the [RapportException] the
 * watch gave up on (e.g. [RapportException.Unauthorized]), or that [Replica.watch]
 * threw (a bad URL). Connection changes ([LiveStatus]) go to [onStatus], on the
 * watch's thread. Updates are buffered, never dropped, while the collector is busy.
 *
 * ```kotlin
 * lifecycleScope.launch {
 *     replica.liveUpdates(serverUrl, token).collect { update -> refresh(update.accounts) }
 * }
 * ```
 */
fun Replica.liveUpdates(serverUrl: String, token: String, onStatus: (LiveStatus) -> Unit = {}): Flow<LiveUpdate> =
    callbackFlow {
        val listener = object : LiveListener {
            override fun onUpdate(update: LiveUpdate) {
                trySend(update)
            }

            override fun onStatus(status: LiveStatus) {
                onStatus(status)
                if (status is LiveStatus.Failed) close(status.error)
            }
        }
        val watch = this@liveUpdates.watch(serverUrl, token, listener)
        awaitClose {
            watch.stop()
            watch.close()
        }
    }.buffer(Channel.UNLIMITED)
