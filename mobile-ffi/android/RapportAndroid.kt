// Add this file to the Android app next to the generated Kotlin bindings
// (target/bindings/kotlin/uniffi/rapport_ffi/). See docs/MOBILE.md.
package uniffi.rapport_ffi

import android.content.Context

/** The Android initialisation Rapport needs before syncing over HTTPS. */
object RapportAndroid {
    init {
        System.loadLibrary("rapport_ffi")
    }

    /**
     * Hands the application context to the HTTPS certificate verifier, which
     * uses Android's own trust store (and the CAs the user or the company's
     * device management installed). Call once, before the first sync, e.g. in
     * `Application.onCreate`; calling it again does nothing.
     */
    @JvmStatic
    external fun initialize(context: Context)
}
