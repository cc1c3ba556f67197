package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import java.security.SecureRandom
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/**
 * Encryption at rest from Kotlin: the key is 32 bytes the app keeps in the
 * Android Keystore (here: random bytes). Round trip, wrong key, plain → encrypted,
 * and no customer name left in clear in the files.
 */
class EncryptionTest {
    @TempDir
    lateinit var dir: Path

    private val name = "Quackenbush Zebulon Haberdashery"

    private fun newKey(): ByteArray = ByteArray(replicaKeyLength().toInt()).also { SecureRandom().nextBytes(it) }

    /** Files in the directory whose bytes hold the customer's name. */
    private fun leaks(): List<String> {
        val needle = name.toByteArray()
        return dir.toFile().listFiles()!!.filter { it.isFile }.filter { f ->
            val bytes = f.readBytes()
            (0..bytes.size - needle.size).any { i -> needle.indices.all { bytes[i + it] == needle[it] } }
        }.map { it.name }
    }

    @Test
    fun `an encrypted replica round trips with its key and holds no name in clear`() {
        val key = newKey()
        val path = "$dir/r.db"
        val id = Replica.openEncrypted(path, "ana", "ana-phone", key).use { replica ->
            val id = replica.createAccount(NewAccount(name = name))
            assertTrue(File("$path-wal").length() > 0, "the log holds the writes")
            assertEquals(emptyList<String>(), leaks(), "no name in clear while open")
            id
        }
        assertEquals(emptyList<String>(), leaks(), "no name in clear after closing")
        Replica.openEncrypted(path, "ana", "ana-phone", key).use { replica ->
            assertEquals(name, replica.account(id).party.name)
        }
    }

    @Test
    fun `a wrong or missing key is WrongKey and changes nothing`() {
        val key = newKey()
        val path = "$dir/r.db"
        Replica.openEncrypted(path, "ana", "ana-phone", key).use { it.createAccount(NewAccount(name = name)) }
        val before = File(path).readBytes()

        val wrong = assertThrows<RapportException.WrongKey> { Replica.openEncrypted(path, "ana", "ana-phone", newKey()) }
        assertTrue(wrong.message!!.contains("use the key it was encrypted with"), wrong.message)
        assertFalse(wrong.message!!.contains("not a database"), wrong.message)
        val missing = assertThrows<RapportException.WrongKey> { Replica.open(path, "ana", "ana-phone") }
        assertTrue(missing.message!!.contains("open it with its key"), missing.message)
        assertThrows<RapportException.InvalidInput> { Replica.openEncrypted(path, "ana", "ana-phone", ByteArray(16)) }
        assertArrayEquals(before, File(path).readBytes(), "failed opens changed nothing")
        Replica.openEncrypted(path, "ana", "ana-phone", key).use { assertEquals(1, it.list(AccountFilter()).size) }
    }

    @Test
    fun `a plain replica is encrypted in place`() {
        val path = "$dir/r.db"
        val (ids, unsynced) = Replica.open(path, "ana", "ana-phone").use { replica ->
            val ids = (0 until 5).map { replica.createAccount(NewAccount(name = "$name $it")) }
            ids to replica.unsyncedCount()
        }
        assertTrue(leaks().isNotEmpty(), "the plain file holds the name")

        val key = newKey()
        assertThrows<RapportException.WrongKey> { Replica.openEncrypted(path, "ana", "ana-phone", key) }
        assertTrue(encryptReplica(path, key))
        assertEquals(emptyList<String>(), leaks(), "no plaintext left behind")
        assertFalse(encryptReplica(path, key), "already encrypted with this key")
        assertThrows<RapportException.WrongKey> { encryptReplica(path, newKey()) }
        Replica.openEncrypted(path, "ana", "ana-phone", key).use { replica ->
            assertEquals(ids.mapIndexed { i, _ -> "$name $i" }, ids.map { replica.account(it).party.name })
            assertEquals(unsynced, replica.unsyncedCount(), "unsynced edits kept")
        }
    }
}
