package app.rapport.mobile

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.ServerSocket
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit

/** The admin device token the test servers are started with. */
const val ADMIN_TOKEN = "kotlin-test-admin-token-0123456789"

/** A real `rapport-server` process on a free port, over a data directory that outlives restarts. */
class TestServer(private val dataDir: File, private vararg val extraArgs: String) : AutoCloseable {
    private var process: Process? = null
    lateinit var url: String
        private set

    /** Starts the server on [listen] (default: a free port); returns its URL. */
    fun start(listen: String = "127.0.0.1:0"): String {
        val bin = File(System.getProperty("rapport.server.bin") ?: error("rapport.server.bin is not set"))
        check(bin.canExecute()) { "$bin is missing: run cargo build -p rapport-server" }
        val builder = ProcessBuilder(listOf(bin.path, "serve", "--listen", listen, "--data", dataDir.path) + extraArgs)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
        builder.environment()["RAPPORT_ADMIN_TOKEN"] = ADMIN_TOKEN
        val proc = builder.start()
        process = proc
        val lines = LinkedBlockingQueue<String>()
        Thread {
            BufferedReader(InputStreamReader(proc.inputStream)).useLines { seq -> seq.forEach { lines.put(it) } }
            lines.put(EOF)
        }.apply { isDaemon = true }.start()
        while (true) {
            val line = lines.poll(60, TimeUnit.SECONDS)
                ?: run { stop(); error("rapport-server did not print 'listening on' within 60 s") }
            check(line != EOF) { "rapport-server exited with ${proc.waitFor()} before listening" }
            if (line.startsWith("listening on ")) {
                url = line.removePrefix("listening on ").trim()
                return url
            }
        }
    }

    fun stop() {
        process?.let {
            it.destroy()
            if (!it.waitFor(30, TimeUnit.SECONDS)) it.destroyForcibly().waitFor()
        }
        process = null
    }

    override fun close() = stop()

    companion object {
        private const val EOF = "\u0000eof"

        /** A local URL nothing listens on. */
        fun deadUrl(): String = ServerSocket(0).use { "http://127.0.0.1:${it.localPort}" }
    }
}
