package app.rapport.mobile

import java.nio.file.Path
import java.time.Instant
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/** The CLI's edits from Kotlin: reopen, a planned visit held, a deal won, the settings, names checked. */
class OfficeEditsTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var replica: Replica
    private lateinit var acme: String

    @BeforeEach
    fun open() {
        replica = Replica.open("$dir/r.db", "olli", "office-desktop")
        acme = replica.createAccount(NewAccount(name = "Acme Oy"))
    }

    @AfterEach
    fun close() = replica.close()

    @Test
    fun `an ended relationship reopens and a planned visit is held once`() {
        val reason = replica.settings().endReasons.first()
        replica.endRelationship(acme, AccountStatus.LOST, reason, "2026-11-30")
        assertEquals(AccountStatus.LOST, replica.account(acme).party.status)
        replica.reopenRelationship(acme)
        val party = replica.account(acme).party
        assertEquals(AccountStatus.ACTIVE, party.status)
        assertNull(party.ending)

        val planned = Instant.parse("2027-01-15T10:00:00Z")
        val visit = replica.logInteraction(
            acme,
            NewInteraction(kind = InteractionKind.VISIT, subject = "Site survey", status = InteractionStatus.PLANNED, plannedStart = planned),
        )
        val heldAt = Instant.parse("2027-01-15T10:20:00Z")
        replica.holdInteraction(acme, visit, HeldInteraction(at = heldAt, outcome = "Ordered two boilers"))
        val shown = replica.account(acme)
        val held = shown.interactions.first { it.id == visit }
        assertEquals(InteractionStatus.HELD, held.status)
        assertEquals(heldAt, held.actualStart)
        assertEquals(planned, held.plannedStart)
        assertEquals(1L, shown.visitCount)
        val twice = assertThrows<RapportException.InvalidInput> { replica.holdInteraction(acme, visit, HeldInteraction()) }
        assertTrue(twice.message!!.contains("already marked held"), twice.message)

        val deal = replica.addDeal(acme, NewDeal(title = "Boilers", amount = Money(100, "EUR")))
        replica.markDealWon(acme, deal)
        assertEquals(DealOutcome.WON, replica.account(acme).deals.first().outcome)
    }

    @Test
    fun `settings change locally and names need a fetched directory`() {
        replica.putStage(Stage(id = "tender", name = "Tender", probability = 40u, kind = StageKind.OPEN, order = 25u, staleAfterDays = 14u))
        replica.addReason(ReasonCatalogue.LOST_REASONS, "budget cut")
        val settings = replica.settings()
        assertEquals("Tender", settings.stages.first { it.id == "tender" }.name)
        assertTrue("budget cut" in settings.lostReasons)

        assertNull(replica.directory())
        val unchecked = assertThrows<RapportException.InvalidInput> { replica.checkName(NameKind.OWNER, "bohdan") }
        assertTrue(unchecked.message!!.contains("sync first"), unchecked.message)
    }
}
