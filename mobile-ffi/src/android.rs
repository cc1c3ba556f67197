//! Android: the one call HTTPS needs before the first sync.
//!
//! The client verifies server certificates with Android's own verifier
//! (rustls-platform-verifier), which calls into the JVM and so needs the
//! app's `Context`. A uniffi function cannot take one, so this is a plain JNI
//! method of the Kotlin object `uniffi.rapport_ffi.RapportAndroid`
//! (`mobile-ffi/android/RapportAndroid.kt`, added to the app next to the
//! generated bindings): the app calls `RapportAndroid.initialize(context)`
//! once, e.g. in `Application.onCreate`. Without it, an `https://` sync on
//! Android fails. See docs/MOBILE.md.

use jni::EnvUnowned;
use jni::objects::{JClass, JObject};

/// `RapportAndroid.initialize(context: Context)`: hands the application
/// context to the certificate verifier. Calling it again does nothing. A
/// JNI failure is thrown to Kotlin as a `RuntimeException`.
#[jni::jni_mangle("uniffi.rapport_ffi.RapportAndroid")]
pub fn initialize<'local>(mut env: EnvUnowned<'local>, _class: JClass<'local>, context: JObject<'local>) {
    env.with_env(|env| -> Result<(), jni::errors::Error> {
        rustls_platform_verifier::android::init_with_env(env, context)
    })
    .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}
