package dev.otpsidecar.keycloak;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

import com.sun.net.httpserver.HttpServer;

/**
 * The sidecar's JWKS endpoint for one test, played by a real HTTP server on loopback. It listens on port 0,
 * so the port it serves on is the one it holds; {@link #close()} stops it.
 */
final class JwksEndpoint implements AutoCloseable {

    private final HttpServer server;
    /** Where the authenticator fetches the keys. */
    final URI uri;
    /** How many times the keys were fetched. */
    final AtomicInteger requests = new AtomicInteger();

    private JwksEndpoint(int status, String body, long delayMillis) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/.well-known/jwks.json", exchange -> {
            requests.incrementAndGet();
            if (delayMillis > 0) {
                try {
                    Thread.sleep(delayMillis);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(status, bytes.length);
            exchange.getResponseBody().write(bytes);
            exchange.close();
        });
        server.start();
        uri = URI.create("http://localhost:" + server.getAddress().getPort() + "/.well-known/jwks.json");
    }

    /** Answers {@code status} with {@code body}, each time after {@code delayMillis}. */
    static JwksEndpoint serving(int status, String body, long delayMillis) throws IOException {
        return new JwksEndpoint(status, body, delayMillis);
    }

    /** Answers 200 with {@code body}. */
    static JwksEndpoint serving(String body) throws IOException {
        return new JwksEndpoint(200, body, 0);
    }

    /** The sidecar's RSA test key under {@code kid}. */
    static JwksEndpoint rsaKey(String kid) throws IOException {
        return serving(SidecarUnavailableTest.rsaJwks(kid));
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
