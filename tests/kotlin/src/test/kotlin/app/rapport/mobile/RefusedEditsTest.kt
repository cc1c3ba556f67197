package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/**
 * Refused edits from Kotlin (ADR 0010): an edit the server refuses does not fail the sync; it is
 * set aside and listed with its reason, the rep's other edits are sent, and it can be retried
 * (refused again: the rules say no) or discarded.
 */
class RefusedEditsTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `a refused edit is reported, listed, retried and discarded while the others arrive`() = runBlocking {
        TestServer(File(dir.toFile(), "server")).use { server ->
            server.start()
            val anaToken = Admin.addUser(server.url, """{"name":"ana","role":"office","territories":["north"]}""")
            val office = Replica.open("$dir/office.db", "olli", "office-desktop")
            val rep = Replica.open("$dir/rep.db", "ana", "ana-phone")
            val acme = office.createAccount(NewAccount(name = "Acme Oy", owner = "ana", territory = "north"))
            office.sync(server.url, ADMIN_TOKEN, null)
            rep.sync(server.url, anaToken, null)

            // Ana becomes a rep while her phone is offline: it does not refuse her owner change.
            Admin.call(server.url, "PATCH", "/users/ana", """{"role":"rep"}""")
            rep.setField(acme, "party.owner", "bob")
            rep.setNotes(acme, "Wants delivery in May.")
            val report = rep.sync(server.url, anaToken, null)
            assertEquals(1uL, report.refusedEdits)
            assertEquals(listOf(acme), report.refused.map { it.document })
            assertTrue(report.refused[0].reason.endsWith("role rep may not change party.owner"), report.refused[0].reason)
            assertEquals(0uL, rep.unsyncedCount(), "the other edits were sent")

            val refused = rep.refusedEdits()
            assertEquals(1, refused.size)
            assertEquals(acme, refused[0].accountId)
            assertEquals(listOf("party.owner"), refused[0].fields)
            assertEquals("role rep may not change party.owner", refused[0].reason)
            assertEquals("ana", rep.account(acme).party.owner)

            office.sync(server.url, ADMIN_TOKEN, null)
            assertEquals("Wants delivery in May.", office.account(acme).party.notes)
            assertEquals("ana", office.account(acme).party.owner)

            // Now that the phone knows her role, the same edit is refused at once; so is a retry.
            val atOnce = assertThrows<RapportException.NotPermitted> { rep.setField(acme, "party.owner", "bob") }
            assertTrue(atOnce.message.contains("party.owner"), atOnce.message)
            assertThrows<RapportException.NotPermitted> { rep.retryRefused(refused[0].id) }
            assertEquals(1, rep.refusedEdits().size, "a refused retry keeps the edit aside")

            rep.discardRefused(refused[0].id)
            assertEquals(emptyList<RefusedEdit>(), rep.refusedEdits())
            assertThrows<RapportException.NotFound> { rep.discardRefused(refused[0].id) }
            val again = rep.sync(server.url, anaToken, null)
            assertEquals(0uL, again.refusedEdits)
            assertEquals("ana", rep.account(acme).party.owner)
            rep.close()
            office.close()
        }
    }

    @Test
    fun `a refused edit retried once the role allows it reaches the others`() = runBlocking {
        TestServer(File(dir.toFile(), "server")).use { server ->
            server.start()
            val anaToken = Admin.addUser(server.url, """{"name":"ana","role":"office","territories":["north"]}""")
            val office = Replica.open("$dir/office.db", "olli", "office-desktop")
            val rep = Replica.open("$dir/rep.db", "ana", "ana-phone")
            val acme = office.createAccount(NewAccount(name = "Acme Oy", owner = "ana", territory = "north"))
            office.sync(server.url, ADMIN_TOKEN, null)
            rep.sync(server.url, anaToken, null)

            Admin.call(server.url, "PATCH", "/users/ana", """{"role":"rep"}""")
            rep.setField(acme, "party.owner", "bob")
            assertEquals(1uL, rep.sync(server.url, anaToken, null).refusedEdits)
            val refused = rep.refusedEdits().single()

            // She is office staff again; the phone learns it at its next sync, and the retry goes through.
            Admin.call(server.url, "PATCH", "/users/ana", """{"role":"office"}""")
            rep.sync(server.url, anaToken, null)
            rep.retryRefused(refused.id)
            assertEquals(emptyList<RefusedEdit>(), rep.refusedEdits())
            assertEquals("bob", rep.account(acme).party.owner)
            val report = rep.sync(server.url, anaToken, null)
            assertEquals(0uL, report.refusedEdits)
            assertEquals(1uL, report.pushedDocs)
            office.sync(server.url, ADMIN_TOKEN, null)
            assertEquals("bob", office.account(acme).party.owner)
            rep.close()
            office.close()
        }
    }
}
