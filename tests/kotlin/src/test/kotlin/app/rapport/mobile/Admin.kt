package app.rapport.mobile

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse

/** The admin API of a test server, with the admin token. */
object Admin {
    private val http = HttpClient.newHttpClient()

    /** Sends [json] with [method] to `/v1/admin[path]`; returns the answer's body (fails on an error status). */
    fun call(serverUrl: String, method: String, path: String, json: String): String {
        val request = HttpRequest.newBuilder(URI("$serverUrl/v1/admin$path"))
            .header("Authorization", "Bearer $ADMIN_TOKEN")
            .header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(json))
            .build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() in 200..299) { "$method $path: ${response.statusCode()} ${response.body()}" }
        return response.body()
    }

    /** Creates a user (with its first device) and returns the device token. */
    fun addUser(serverUrl: String, json: String): String {
        val body = call(serverUrl, "POST", "/users", json)
        return Regex("\"token\"\\s*:\\s*\"([^\"]+)\"").find(body)!!.groupValues[1]
    }
}
