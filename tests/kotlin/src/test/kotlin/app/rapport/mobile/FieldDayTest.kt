package app.rapport.mobile

import java.io.File
import java.nio.file.Path
import java.time.Instant
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/** Records what a sync reports. */
class Recorder : SyncListener {
    val progress = mutableListOf<SyncProgress>()
    val completed = mutableListOf<SyncReport>()
    val errors = mutableListOf<String>()
    override fun onProgress(progress: SyncProgress) { this.progress += progress }
    override fun onComplete(report: SyncReport) { completed += report }
    override fun onError(message: String) { errors += message }
}

/** A field rep's day on the phone, merged with the office's concurrent edits. */
class FieldDayTest {
    @TempDir
    lateinit var dir: Path

    @Test
    fun `a field rep's day merges with the office`() = runBlocking {
        TestServer(File(dir.toFile(), "server-data")).use { server ->
            server.start()
            val office = Replica.open("$dir/office.db", "olli", "office-desktop")
            val rep = Replica.open("$dir/rep.db", "ana", "ana-phone")

            // Morning: the office sets up the account; the rep syncs it down.
            val acme = office.createAccount(NewAccount(name = "Acme Oy", owner = "ana", notes = "Met at the fair."))
            val maija = office.addContact(acme, NewContact(name = "Maija Virtanen", emails = listOf("maija@acme.example")))
            val deal = office.addDeal(acme, NewDeal(title = "Forklifts", amount = Money(1_250_000, "EUR")))
            office.sync(server.url, ADMIN_TOKEN, null)

            val morning = Recorder()
            val report = rep.sync(server.url, ADMIN_TOKEN, morning)
            assertTrue(acme in report.pulledIds)
            assertEquals(listOf(report), morning.completed)
            assertTrue(morning.progress.isNotEmpty())
            assertEquals("Acme Oy", rep.account(acme).party.name)

            // Offline: the server is down; sync throws a typed network error.
            server.stop()
            val offline = Recorder()
            assertThrows<RapportException.Network> { runBlocking { rep.sync(server.url, ADMIN_TOKEN, offline) } }
            assertEquals(1, offline.errors.size)

            val openStages = rep.settings().stages.filter { it.kind == StageKind.OPEN }.map { it.id }
            val nextStage = openStages[openStages.indexOf(rep.account(acme).deals[0].stage) + 1]
            val visitAt = Instant.parse("2026-03-02T09:30:00Z")
            rep.logInteraction(
                acme,
                NewInteraction(
                    kind = InteractionKind.VISIT, subject = "Site visit", contacts = listOf(maija), deal = deal,
                    actualStart = visitAt, checkIn = Geo(61.4978, 23.761),
                ),
            )
            rep.logInteraction(acme, NewInteraction(kind = InteractionKind.CALL, subject = "Follow-up call"))
            rep.moveDealStage(acme, deal, nextStage, null)
            rep.setNotes(acme, "Met at the fair.\nVisit: wants a demo in April.")
            rep.recordConsent(acme, maija, NewConsent(Channel.EMAIL, "newsletter", ConsentStatus.REFUSED, "asked"))
            rep.setField(acme, "party.address.city", "Tampere")
            assertEquals(1uL, rep.unsyncedCount())

            // Meanwhile at the office.
            office.setField(acme, "party.address.city", "Espoo")
            office.addTag(acme, "key-account")
            office.setNotes(acme, "Budget approved.\nMet at the fair.")

            // Reconnect: the server is back on the same data directory.
            server.start()
            rep.sync(server.url, ADMIN_TOKEN, null)
            office.sync(server.url, ADMIN_TOKEN, null)
            rep.sync(server.url, ADMIN_TOKEN, null)

            val merged = rep.account(acme)
            assertEquals(office.account(acme), merged)
            assertEquals(1L, merged.visitCount)
            assertEquals(listOf("Site visit", "Follow-up call"), merged.interactions.map { it.subject })
            assertEquals(visitAt, merged.interactions[0].actualStart)
            assertEquals(nextStage, merged.deals[0].stage)
            assertEquals(listOf("key-account"), merged.party.tags)
            assertEquals("Budget approved.\nMet at the fair.\nVisit: wants a demo in April.", merged.party.notes)
            val refusal = merged.contacts[0].consents.last()
            assertEquals(ConsentStatus.REFUSED, refusal.status)
            assertEquals("ana", refusal.by)

            // The concurrent city edits are a conflict on both devices; the rep resolves it from Kotlin.
            val conflict = rep.conflicts(acme).single()
            assertEquals("party.address.city", conflict.field)
            assertEquals(setOf("Tampere" to "ana-phone", "Espoo" to "office-desktop"),
                conflict.values.map { it.value to it.device }.toSet())
            assertEquals(listOf(acme), office.allConflicts().map { it.accountId })

            rep.resolveConflict(acme, conflict.field, conflict.values.first { it.device == "ana-phone" }.value)
            rep.sync(server.url, ADMIN_TOKEN, null)
            office.sync(server.url, ADMIN_TOKEN, null)
            for (replica in listOf(rep, office)) {
                assertEquals(emptyList<Conflict>(), replica.conflicts(acme))
                assertEquals("Tampere", replica.account(acme).party.address.city)
            }
            assertEquals(setOf("olli", "ana"), office.history(acme).map { it.user }.toSet())
            rep.close()
            office.close()
        }
    }
}
