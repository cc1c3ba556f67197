package app.rapport.mobile

import java.nio.file.Path
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeEach
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir
import uniffi.rapport_ffi.*

/** Deal line items from Kotlin: the amount follows them unless set by hand. */
class LineItemsTest {
    @TempDir
    lateinit var dir: Path
    private lateinit var replica: Replica
    private lateinit var acme: String
    private lateinit var deal: String

    @BeforeEach
    fun open() {
        replica = Replica.open("$dir/r.db", "ana", "ana-phone")
        acme = replica.createAccount(NewAccount(name = "Acme Oy"))
        deal = replica.addDeal(acme, NewDeal(title = "Boilers", amount = Money(1, "EUR")))
    }

    @AfterEach
    fun close() = replica.close()

    @Test
    fun `line items set the amount until it is set by hand`() {
        val boiler = replica.addLineItem(acme, deal, NewLineItem(name = "Boiler", quantity = 2u, unitPriceMinor = 120_050, discountPercent = 10u))
        replica.addLineItem(acme, deal, NewLineItem(name = "Valve", unitPriceMinor = 9_990))
        replica.updateLineItem(acme, deal, boiler, LineItemChange(quantity = 3u))
        var shown = replica.account(acme).deals.first()
        assertTrue(shown.amountFromLineItems)
        assertEquals(324_135L + 9_990L, shown.amount.minor)
        assertEquals(listOf("Boiler", "Valve"), shown.lineItems.map { it.name }.sorted())

        replica.setField(acme, "deals.$deal.amount", "400000")
        replica.removeLineItem(acme, deal, shown.lineItems.first { it.name == "Valve" }.id)
        shown = replica.account(acme).deals.first()
        assertFalse(shown.amountFromLineItems)
        assertEquals(400_000L, shown.amount.minor)
        replica.followLineItems(acme, deal)
        assertEquals(324_135L, replica.account(acme).deals.first().amount.minor)

        assertThrows<RapportException.InvalidInput> {
            replica.addLineItem(acme, deal, NewLineItem(name = " ", unitPriceMinor = 1))
        }
        assertThrows<RapportException.NotFound> {
            replica.removeLineItem(acme, deal, "0190f5a4-0000-7000-8000-000000000000")
        }
    }
}
