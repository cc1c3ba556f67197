package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/**
 * Sync over HTTPS against a real server serving TLS itself, with a certificate
 * of a test CA made for each test (target/debug/examples/test_ca, rcgen) and
 * trusted through `caCertPem`; untrusted certificates are refused with a
 * typed exception that says what to do.
 */
class HttpsTest {
    @TempDir
    lateinit var dir: Path

    private class Ca(val ca: File, val cert: File, val key: File)

    private fun testCa(): Ca {
        val bin = File(System.getProperty("rapport.test.ca.bin") ?: error("rapport.test.ca.bin is not set"))
        check(bin.canExecute()) { "$bin is missing: run cargo build -p rapport-e2e --example test_ca" }
        val out = File(dir.toFile(), "ca")
        val proc = ProcessBuilder(bin.path, out.path).redirectErrorStream(true).start()
        check(proc.waitFor(60, TimeUnit.SECONDS) && proc.exitValue() == 0) { "test_ca failed" }
        return Ca(File(out, "ca.pem"), File(out, "server.pem"), File(out, "server.key"))
    }

    /** A user with a first device, made on the data directory before the server starts; returns its token. */
    private fun addUser(data: File, name: String): String {
        val bin = System.getProperty("rapport.server.bin") ?: error("rapport.server.bin is not set")
        val proc = ProcessBuilder(bin, "user", "add", name, "--role", "admin", "--device", "$name-phone", "--data", data.path)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start()
        val out = proc.inputStream.bufferedReader().readText()
        check(proc.waitFor(60, TimeUnit.SECONDS) && proc.exitValue() == 0) { "user add failed: $out" }
        return out.trim().lines().last().trim()
    }

    private fun httpsServer(data: File, ca: Ca) =
        TestServer(data, "--tls-cert", ca.cert.path, "--tls-key", ca.key.path)

    @Test
    fun `two phones sync over https with the company CA`() = runBlocking {
        val ca = testCa()
        val pem = ca.ca.readText()
        val data = File(dir.toFile(), "server")
        val ana = addUser(data, "ana")
        val bob = addUser(data, "bob")
        httpsServer(data, ca).use { server ->
            val url = server.start()
            assertTrue(url.startsWith("https://127.0.0.1:"), url)

            val anaReplica = openWithToken("$dir/ana.db", url, ana, caCertPem = pem)
            val acme = anaReplica.createAccount(NewAccount(name = "Acme Oy"))
            assertEquals(1uL, anaReplica.sync(url, ana, null, caCertPem = pem).pushedDocs)

            val owner = whoami(url, bob, caCertPem = pem)
            val bobReplica = Replica.open("$dir/bob.db", owner.user, owner.device)
            val report = bobReplica.sync(url, bob, null, caCertPem = pem)
            assertTrue(acme in report.pulledIds)
            assertEquals("Acme Oy", bobReplica.account(acme).party.name)
            anaReplica.close()
            bobReplica.close()
        }
    }

    @Test
    fun `an untrusted certificate is refused with what to do`() = runBlocking {
        val ca = testCa()
        val pem = ca.ca.readText()
        val data = File(dir.toFile(), "server")
        val token = addUser(data, "ana")
        httpsServer(data, ca).use { server ->
            val url = server.start()
            val replica = Replica.open("$dir/r.db", "ana", "ana-phone")
            replica.createAccount(NewAccount(name = "Acme Oy"))

            // No CA: the platform's trust store does not know the test CA.
            val e = assertThrows<RapportException.UntrustedCertificate> { runBlocking { replica.sync(url, token, null) } }
            assertTrue(e.message!!.contains("the server's certificate is not trusted"), e.message)
            assertTrue(e.message!!.contains("ask for its CA certificate"), e.message)
            assertThrows<RapportException.UntrustedCertificate> { runBlocking { whoami(url, token) } }

            // The right CA, but a host name the certificate was not issued for.
            val wrongHost = url.replace("127.0.0.1", "localhost")
            val e2 = assertThrows<RapportException.UntrustedCertificate> {
                runBlocking { replica.sync(wrongHost, token, null, caCertPem = pem) }
            }
            assertTrue(e2.message!!.contains("another host name"), e2.message)

            // Something that is not a CA certificate.
            assertThrows<RapportException.InvalidInput> {
                runBlocking { replica.sync(url, token, null, caCertPem = ca.key.readText()) }
            }

            // Nothing was sent: the edit goes with the right CA.
            assertEquals(1uL, replica.sync(url, token, null, caCertPem = pem).pushedDocs)
            replica.close()
        }
    }
}
