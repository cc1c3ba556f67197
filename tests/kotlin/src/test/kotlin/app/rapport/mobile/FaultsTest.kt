package app.rapport.mobile

import com.sun.net.httpserver.HttpServer
import java.io.File
import java.net.HttpURLConnection
import java.net.InetSocketAddress
import java.net.URI
import java.nio.file.Path
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/** A server that cannot take changes now is a typed, retryable exception, never an "upgrade". */
class FaultsTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var replica: Replica

    @BeforeEach
    fun open() {
        replica = Replica.open("$dir/r.db", "ana", "ana-phone")
        replica.createAccount(NewAccount(name = "Acme Oy"))
    }

    @AfterEach
    fun close() = replica.close()

    /** Answers every request with [status], the server's JSON error and `Retry-After`. */
    private fun scripted(status: Int, code: String, retryAfter: String, block: (String, AtomicInteger) -> Unit) {
        val requests = AtomicInteger()
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        server.createContext("/") { exchange ->
            requests.incrementAndGet()
            exchange.requestBody.readBytes()
            val body = """{"error":{"code":"$code","message":"scripted"}}""".toByteArray()
            exchange.responseHeaders.add("Content-Type", "application/json")
            exchange.responseHeaders.add("Retry-After", retryAfter)
            exchange.sendResponseHeaders(status, body.size.toLong())
            exchange.responseBody.use { it.write(body) }
        }
        server.start()
        try {
            block("http://127.0.0.1:${server.address.port}", requests)
        } finally {
            server.stop(0)
        }
    }

    @Test
    fun `an unavailable server is ServerUnavailable after the retries`() = scripted(503, "server_unavailable", "0") { url, requests ->
        val e = assertThrows<RapportException.ServerUnavailable> { runBlocking { replica.sync(url, ADMIN_TOKEN, null) } }
        assertTrue(e.message.contains("temporarily unavailable"), e.message)
        assertEquals(0uL, e.retryAfterMs, "Retry-After: 0")
        assertEquals(4, requests.get(), "the first attempt and three retries")
        assertEquals(0, replica.rejectedDocuments().size)
    }

    @Test
    fun `a full server disk is ServerStorageFull and counts the unsent changes`() = scripted(507, "server_storage_full", "60") { url, _ ->
        val unsent = replica.unsyncedCount()
        val e = assertThrows<RapportException.ServerStorageFull> { runBlocking { replica.sync(url, ADMIN_TOKEN, null) } }
        assertTrue(e.message.contains("out of disk space; your $unsent unsent change(s) are safe on this device"), e.message)
        assertEquals(unsent, e.unsent)
        assertTrue(e.unsent >= 1uL)
        assertEquals(60_000uL, e.retryAfterMs)
        assertEquals(unsent, replica.unsyncedCount())
    }

    @Test
    fun `a rate limit longer than the client waits is RateLimited`() = runBlocking {
        TestServer(File(dir.toFile(), "server"), "--rate", "0.01", "--burst", "3").use { server ->
            server.start()
            replica.sync(server.url, ADMIN_TOKEN, null)
            val repToken = addRep(server.url, "rita")
            val rep = Replica.open("$dir/rep.db", "rita", "rita-phone")
            val e = assertThrows<RapportException.RateLimited> {
                runBlocking { repeat(5) { rep.sync(server.url, repToken, null) } }
            }
            assertTrue(e.message.contains("too many requests") && e.message.contains("try again in"), e.message)
            // The server asked for about 100 s, more than the client waits by itself.
            assertTrue((e.retryAfterMs ?: 0uL) > 30_000uL, "retryAfterMs = ${e.retryAfterMs}")
            rep.close()
        }
    }

    /** A rep user through the admin API (admins are not rate limited); returns its device token. */
    private fun addRep(url: String, name: String): String {
        val conn = URI("$url/v1/admin/users").toURL().openConnection() as HttpURLConnection
        conn.requestMethod = "POST"
        conn.doOutput = true
        conn.setRequestProperty("Authorization", "Bearer $ADMIN_TOKEN")
        conn.setRequestProperty("Content-Type", "application/json")
        conn.outputStream.use { it.write("""{"name":"$name","role":"rep","teams":[],"territories":[]}""".toByteArray()) }
        val body = conn.inputStream.use { it.readBytes().decodeToString() }
        return Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(body)!!.groupValues[1]
    }
}
