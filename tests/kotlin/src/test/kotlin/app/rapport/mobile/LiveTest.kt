package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNotEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.fail
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/**
 * Live updates from Kotlin against a real server process: `Replica.liveUpdates` (a Flow over
 * `Replica.watch`) brings another device's edit, survives a server restart on the same port, and
 * a stopped watch makes no more callbacks.
 */
class LiveTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var server: TestServer
    private lateinit var office: Replica
    private lateinit var phone: Replica
    private lateinit var phoneToken: String
    private lateinit var acme: String

    @BeforeEach
    fun devices() = runBlocking {
        server = TestServer(File(dir.toFile(), "server"))
        server.start()
        phoneToken = Admin.addUser(server.url, """{"name":"ana","role":"office","territories":["north"]}""")
        office = Replica.open("$dir/office.db", "admin", "office-desktop")
        phone = Replica.open("$dir/phone.db", "ana", "ana-phone")
        acme = office.createAccount(NewAccount(name = "Acme Oy", owner = "ana", territory = "north"))
        office.sync(server.url, ADMIN_TOKEN, null)
        Unit
    }

    @AfterEach
    fun close() {
        phone.close()
        office.close()
        server.stop()
    }

    private suspend fun Channel<LiveUpdate>.awaitAccount(account: String, seconds: Long): LiveUpdate =
        withTimeout(TimeUnit.SECONDS.toMillis(seconds)) {
            var update = receive()
            while (account !in update.accounts) update = receive()
            update
        }

    private fun LinkedBlockingQueue<LiveStatus>.await(seconds: Long, wanted: (LiveStatus) -> Boolean): LiveStatus {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds)
        val seen = mutableListOf<LiveStatus>()
        while (true) {
            val left = deadline - System.nanoTime()
            val status = poll(maxOf(left, 0), TimeUnit.NANOSECONDS) ?: fail("no such status within $seconds s; saw $seen")
            seen += status
            if (wanted(status)) return status
        }
    }

    @Test
    fun `another device's edit reaches the watching app`() = runBlocking {
        val updates = Channel<LiveUpdate>(Channel.UNLIMITED)
        val statuses = LinkedBlockingQueue<LiveStatus>()
        val job = launch(Dispatchers.IO) {
            phone.liveUpdates(server.url, phoneToken) { statuses.put(it) }.collect { updates.send(it) }
        }
        try {
            assertTrue(updates.awaitAccount(acme, ARRIVAL).afterConnect, "the catch-up sync brings the account")
            statuses.await(ARRIVAL) { it is LiveStatus.InSync }

            office.setNotes(acme, "Call back on Tuesday.")
            office.sync(server.url, ADMIN_TOKEN, null)
            val update = updates.awaitAccount(acme, ARRIVAL)
            assertFalse(update.afterConnect)
            assertEquals("Call back on Tuesday.", phone.account(acme).party.notes, "applied before the app was told")
        } finally {
            job.cancelAndJoin()
        }
    }

    @Test
    fun `the watch survives a server restart`() = runBlocking {
        val updates = Channel<LiveUpdate>(Channel.UNLIMITED)
        val statuses = LinkedBlockingQueue<LiveStatus>()
        val job = launch(Dispatchers.IO) {
            phone.liveUpdates(server.url, phoneToken) { statuses.put(it) }.collect { updates.send(it) }
        }
        try {
            updates.awaitAccount(acme, ARRIVAL)
            statuses.await(ARRIVAL) { it is LiveStatus.InSync }

            val address = server.url.removePrefix("http://")
            server.stop()
            val reconnecting = statuses.await(AFTER_RESTART) { it is LiveStatus.Reconnecting } as LiveStatus.Reconnecting
            assertTrue(reconnecting.retryInMs > 0uL)
            // While the watch waits for the server, the replica is free for the app.
            val edit = Thread { phone.setField(acme, "party.industry", "forestry") }.apply { isDaemon = true; start() }
            edit.join(TimeUnit.SECONDS.toMillis(ARRIVAL))
            assertFalse(edit.isAlive, "an edit waited for the watch")

            server.start(address)
            statuses.await(AFTER_RESTART) { it is LiveStatus.InSync }
            assertEquals(0uL, phone.unsyncedCount(), "the edit made while disconnected was sent on reconnecting")
            office.sync(server.url, ADMIN_TOKEN, null)
            assertEquals("forestry", office.account(acme).party.industry)

            office.setNotes(acme, "Edited after the restart.")
            office.sync(server.url, ADMIN_TOKEN, null)
            updates.awaitAccount(acme, ARRIVAL)
            assertEquals("Edited after the restart.", phone.account(acme).party.notes)
        } finally {
            job.cancelAndJoin()
        }
    }

    /** Records what the watch reports, from the watch's own thread. */
    private class Recorder : LiveListener {
        val updates = LinkedBlockingQueue<LiveUpdate>()
        val statuses = LinkedBlockingQueue<LiveStatus>()
        override fun onUpdate(update: LiveUpdate) = updates.put(update)
        override fun onStatus(status: LiveStatus) = statuses.put(status)
    }

    @Test
    fun `a stopped watch makes no more callbacks`() = runBlocking {
        val recorder = Recorder()
        val watch = phone.watch(server.url, phoneToken, recorder)
        recorder.statuses.await(ARRIVAL) { it is LiveStatus.InSync }
        watch.stop()
        assertFalse(watch.isRunning())
        recorder.updates.clear()
        recorder.statuses.clear()

        office.setNotes(acme, "Nobody is watching.")
        office.sync(server.url, ADMIN_TOKEN, null)
        Thread.sleep(3_000)
        assertTrue(recorder.updates.isEmpty() && recorder.statuses.isEmpty(), "${recorder.updates} ${recorder.statuses}")
        assertNotEquals("Nobody is watching.", phone.account(acme).party.notes)
        watch.close()
        phone.sync(server.url, phoneToken, null)
        assertEquals("Nobody is watching.", phone.account(acme).party.notes)
    }

    @Test
    fun `a refused token fails the flow with Unauthorized`() = runBlocking {
        val e = assertThrows<RapportException.Unauthorized> {
            runBlocking { withTimeout(TimeUnit.SECONDS.toMillis(ARRIVAL)) { phone.liveUpdates(server.url, "not-a-token-of-this-server").first() } }
        }
        assertTrue(e.message.contains("token"), e.message)
        assertThrows<RapportException.InvalidInput> { runBlocking { phone.liveUpdates("not a url", phoneToken).first() } }
        Unit
    }

    companion object {
        /** Generous: an edit normally arrives well within a second; this is not a benchmark. */
        const val ARRIVAL = 15L
        /** A restarted server is found again within the client's backoff (1 s, 2 s, 4 s… with jitter). */
        const val AFTER_RESTART = 60L
    }
}
