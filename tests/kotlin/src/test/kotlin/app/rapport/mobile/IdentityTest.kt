package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/** The replica's identity comes from the token: `whoami` and `openWithToken` against a real server. */
class IdentityTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var server: TestServer

    @BeforeEach
    fun start() {
        server = TestServer(File(dir.toFile(), "server"))
        server.start()
    }

    @AfterEach
    fun stop() = server.stop()

    @Test
    fun `whoami names the token's user and device`() = runBlocking {
        val ray = Admin.addUser(server.url, """{"name":"ray","role":"rep","device":"ray-phone"}""")
        val owner = whoami(server.url, ray)
        assertEquals(Triple("ray", "rep", "ray-phone"), Triple(owner.user, owner.role, owner.device))
        assertTrue(owner.deviceId > 0)
        val admin = whoami(server.url, ADMIN_TOKEN)
        assertEquals("admin" to "admin", admin.user to admin.role)
    }

    @Test
    fun `openWithToken writes as the token's user`() = runBlocking {
        val ray = Admin.addUser(server.url, """{"name":"ray","role":"rep","device":"ray-phone"}""")
        openWithToken("$dir/r.db", server.url, ray).use { replica ->
            val acme = replica.createAccount(NewAccount(name = "Acme Oy"))
            val change = replica.history(acme).first()
            assertEquals("ray" to "ray-phone", change.user to change.device)
            assertEquals("ray", replica.account(acme).party.owner)
            assertEquals(1uL, replica.sync(server.url, ray, null).pushedDocs)
        }
    }

    @Test
    fun `whoami errors are typed and a refused token creates no replica`() {
        assertThrows<RapportException.Unauthorized> { runBlocking { whoami(server.url, "not-a-token-of-this-server") } }
        assertThrows<RapportException.Network> { runBlocking { whoami(TestServer.deadUrl(), "some-device-token-0123") } }
        assertThrows<RapportException.InvalidInput> { runBlocking { whoami("localhost:8080", "some-device-token-0123") } }
        assertThrows<RapportException.Unauthorized> {
            runBlocking { openWithToken("$dir/r.db", server.url, "not-a-token-of-this-server") }
        }
        assertFalse(File("$dir/r.db").exists(), "no replica is created for a refused token")
    }
}
