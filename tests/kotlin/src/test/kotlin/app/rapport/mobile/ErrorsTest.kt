package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/** Mistakes from Kotlin raise the right typed exception, and a throwing listener is harmless. */
class ErrorsTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var replica: Replica
    private lateinit var acme: String

    @BeforeEach
    fun open() {
        replica = Replica.open("$dir/r.db", "ana", "ana-phone")
        acme = replica.createAccount(NewAccount(name = "Acme Oy"))
    }

    @AfterEach
    fun close() = replica.close()

    @Test
    fun `unknown ids are NotFound`() {
        val unknown = "0190f5a4-0000-7000-8000-000000000000"
        assertThrows<RapportException.NotFound> { replica.account(unknown) }
        assertThrows<RapportException.NotFound> { replica.completeTask(acme, unknown) }
        val stage = replica.settings().stages.first().id
        val e = assertThrows<RapportException.NotFound> { replica.moveDealStage(acme, unknown, stage, null) }
        assertTrue(e.message.contains(unknown))
        // The message is the plain sentence, not "message=…".
        assertTrue(!e.message.startsWith("message="), e.message)
        assertEquals(e.message, e.toString())
    }

    @Test
    fun `bad values are InvalidInput and change nothing`() {
        assertThrows<RapportException.InvalidInput> { replica.account("not-an-id") }
        assertThrows<RapportException.InvalidInput> { replica.setField(acme, "party.no_such_field", "x") }
        assertThrows<RapportException.InvalidInput> { replica.setField(acme, "party.value_tier", "platinum") }
        assertThrows<RapportException.InvalidInput> {
            replica.addDeal(acme, NewDeal(title = "X", amount = Money(-1, "EUR")))
        }
        assertThrows<RapportException.InvalidInput> { replica.addTask(acme, NewTask(title = "Call", due = "soon")) }
        assertEquals("Acme Oy", replica.account(acme).party.name)
        assertEquals(1, replica.history(acme).size)
    }

    @Test
    fun `sync errors are typed`() = runBlocking {
        TestServer(File(dir.toFile(), "server")).use { server ->
            server.start()
            assertThrows<RapportException.InvalidInput> { runBlocking { replica.sync("not a url", ADMIN_TOKEN, null) } }
            assertThrows<RapportException.Unauthorized> {
                runBlocking { replica.sync(server.url, "wrong-token-wrong-token-wrong", null) }
            }
            val offline = assertThrows<RapportException.Network> {
                runBlocking { replica.sync(TestServer.deadUrl(), ADMIN_TOKEN, null) }
            }
            assertTrue(offline.message.startsWith("cannot reach http://127.0.0.1:"), offline.message)
            assertTrue(offline.message.contains("is the server running"), offline.message)
            assertEquals(1uL, replica.sync(server.url, ADMIN_TOKEN, null).pushedDocs)
        }
    }

    @Test
    fun `a listener that throws does not crash the library`() = runBlocking {
        val calls = mutableListOf<String>()
        val throwing = object : SyncListener {
            override fun onProgress(progress: SyncProgress) { calls += "progress"; throw IllegalStateException("bug") }
            override fun onComplete(report: SyncReport) { calls += "complete"; throw RuntimeException("bug") }
            override fun onError(message: String) { calls += "error"; throw Error("bug") }
        }
        TestServer(File(dir.toFile(), "server")).use { server ->
            server.start()
            val report = replica.sync(server.url, ADMIN_TOKEN, throwing)
            assertEquals(1uL, report.pushedDocs)
            assertEquals("progress", calls.first())
            assertEquals("complete", calls.last())
        }
        calls.clear()
        assertThrows<RapportException.Network> { runBlocking { replica.sync(TestServer.deadUrl(), ADMIN_TOKEN, throwing) } }
        assertEquals(listOf("error"), calls)
        replica.setField(acme, "party.industry", "logistics")
        assertEquals("logistics", replica.account(acme).party.industry)
    }

    @Test
    fun `blocking calls from many coroutines on the IO dispatcher`() = runBlocking {
        withTimeout(TimeUnit.SECONDS.toMillis(60)) {
            (1..4).map { n ->
                async(Dispatchers.IO) { repeat(10) { replica.createAccount(NewAccount(name = "T$n-$it")) } }
            }.awaitAll()
        }
        val count = AtomicReference<Int>()
        withContext(Dispatchers.IO) { count.set(replica.list(AccountFilter()).size) }
        assertEquals(41, count.get())
    }
}
