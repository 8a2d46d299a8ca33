package io.refrag.core.hub;

import io.refrag.core.exception.InvalidRequestException;
import io.refrag.core.exception.ModelLoadException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.MalformedURLException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The hub client's HTTP: one GET at a time, bounded in every way a server could stretch it.
 * <ul>
 *   <li><b>Time.</b> A connect timeout and an idle timeout on every read, headers and body alike, so a server that
 *   stalls after the headers fails as surely as one that never answers.</li>
 *   <li><b>Retries.</b> Connection failures, timeouts and HTTP 429/5xx are retried with exponential backoff, as
 *   {@code huggingface_hub}'s {@code http_backoff} does; other statuses fail at once.</li>
 *   <li><b>Redirects</b> are followed here, not by the HTTP stack: at most {@value #MAX_REDIRECTS}, http(s) only, and
 *   the token goes only to the endpoint's own scheme, host and port (the hub sends large files to CDN hosts, which
 *   must not see it; {@code huggingface_hub} drops the header the same way).</li>
 *   <li><b>Size.</b> {@link #readBounded} reads an answer into memory only up to a cap.</li>
 * </ul>
 */
final class HubHttp {
    static final int MAX_REDIRECTS = 10;
    private static final Logger LOG = LoggerFactory.getLogger(HubHttp.class);
    private static final Set<Integer> RETRIED = Set.of(429, 500, 502, 503, 504);

    private final URI endpoint;
    private final String token;
    private final HfHub.Limits limits;

    /**
     * @param endpoint the hub's base URL as configured
     * @param token bearer token for the endpoint's own host, or null
     * @param limits timeouts, retries and the answer cap
     * @throws InvalidRequestException if the endpoint is not an http(s) URL with a host
     */
    HubHttp(String endpoint, String token, HfHub.Limits limits) {
        this.endpoint = endpointUri(endpoint);
        this.token = token == null || token.isBlank() ? null : token.strip();
        if (this.token != null && this.token.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
            throw new InvalidRequestException("HF_TOKEN holds a character other than printable ASCII (a line break or "
                    + "a space copied with it?); a hub token is one word of letters and digits");
        }
        this.limits = limits;
    }

    static URI endpointUri(String endpoint) {
        URI uri;
        try {
            uri = new URI(endpoint);
        } catch (URISyntaxException e) {
            uri = null;
        }
        if (uri == null || uri.getScheme() == null || !Set.of("http", "https").contains(uri.getScheme()
                .toLowerCase(Locale.ROOT)) || uri.getHost() == null || uri.getRawQuery() != null
                || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new InvalidRequestException("the hub endpoint (HF_ENDPOINT) must be an http:// or https:// URL "
                    + "with a host and no query, such as " + HfHub.DEFAULT_ENDPOINT + "; got '" + endpoint + "'");
        }
        return uri;
    }

    /** @return how often a failed transfer is retried */
    int retries() {
        return limits.retries();
    }

    /** @return the endpoint's host, for messages */
    String host() {
        return endpoint.getHost();
    }

    /** An answer with a final (non-redirect) status; closing it drops the connection. */
    static final class Response implements AutoCloseable {
        final URI uri;
        final int status;
        final InputStream body;
        private final HttpURLConnection connection;

        private Response(URI uri, int status, InputStream body, HttpURLConnection connection) {
            this.uri = uri;
            this.status = status;
            this.body = body == null ? InputStream.nullInputStream() : body;
            this.connection = connection;
        }

        String header(String name) {
            return connection.getHeaderField(name);
        }

        @Override
        public void close() {
            try {
                body.close();
            } catch (IOException e) {
                LOG.debug("closing {}: {}", uri, e.toString());
            }
            connection.disconnect();
        }
    }

    /**
     * GETs a URL on the endpoint, retrying transient failures and following redirects.
     *
     * @param path the path after the endpoint, already encoded (starts with '/')
     * @param headers extra request headers (e.g. {@code Range})
     * @param what what is fetched, for messages
     * @param notFound the message for HTTP 404, after the host's name
     * @return a 2xx answer, open
     * @throws ModelLoadException for any other final status, or when the retries are spent
     */
    Response get(String path, Map<String, String> headers, String what, String notFound) {
        URI uri = URI.create(endpoint.toString().replaceAll("/+$", "") + path);
        for (int attempt = 0; ; attempt++) {
            Response r;
            try {
                r = follow(uri, headers);
            } catch (IOException e) {
                if (attempt >= limits.retries()) {
                    throw new ModelLoadException("cannot reach " + uri.getScheme() + "://" + uri.getRawAuthority()
                            + " for " + what + " after " + (attempt + 1) + " tries (" + describe(e) + "); if the "
                            + "model is already in the Hugging Face cache, HF_HUB_OFFLINE=1 uses the cache only", e);
                }
                backoff(attempt, what, describe(e));
                continue;
            }
            if (r.status / 100 == 2) {
                return r;
            }
            r.close();
            if (RETRIED.contains(r.status) && attempt < limits.retries()) {
                backoff(attempt, what, "HTTP " + r.status);
                continue;
            }
            throw statusError(r, what, notFound);
        }
    }

    private ModelLoadException statusError(Response r, String what, String notFound) {
        String where = r.uri.getHost() + " answered HTTP " + r.status + " for " + what;
        return switch (r.status) {
            case 401, 403 -> new ModelLoadException(where + ": a gated or private model needs a token in HF_TOKEN");
            case 404 -> new ModelLoadException(r.uri.getHost() + " " + notFound + " (HTTP 404 for " + r.uri + ")");
            default -> new ModelLoadException(where + " (" + r.uri + ")" + (RETRIED.contains(r.status)
                    ? " after " + (limits.retries() + 1) + " tries" : ""));
        };
    }

    private Response follow(URI first, Map<String, String> headers) throws IOException {
        URI uri = first;
        for (int hop = 0; ; hop++) {
            HttpURLConnection c = open(uri);
            headers.forEach(c::setRequestProperty);
            if (token != null && sameOrigin(uri)) {
                c.setRequestProperty("Authorization", "Bearer " + token);
            }
            int status = c.getResponseCode(); // connects; the read timeout bounds the wait for the headers
            if (status < 300 || status >= 400 || status == 304) {
                return new Response(uri, status, status >= 400 ? c.getErrorStream() : c.getInputStream(), c);
            }
            String location = c.getHeaderField("Location");
            c.disconnect();
            if (location == null || hop >= MAX_REDIRECTS) {
                throw new ModelLoadException(uri.getHost() + " answered HTTP " + status + (location == null
                        ? " without a Location header" : " once more after " + MAX_REDIRECTS + " redirects")
                        + " for " + uri);
            }
            uri = redirectTarget(uri, location);
        }
    }

    private static URI redirectTarget(URI from, String location) {
        URI to;
        try {
            to = from.resolve(new URI(location));
        } catch (URISyntaxException | IllegalArgumentException e) {
            throw new ModelLoadException(from.getHost() + " redirected " + from + " to '" + location + "', which is "
                    + "not a URL", e);
        }
        if (to.getScheme() == null || !Set.of("http", "https").contains(to.getScheme().toLowerCase(Locale.ROOT))
                || to.getHost() == null) {
            throw new ModelLoadException(from.getHost() + " redirected " + from + " to '" + location + "'; only "
                    + "http(s) URLs with a host are followed");
        }
        return to;
    }

    /** @return whether a URL is on the endpoint's own scheme, host and port (the only place the token goes) */
    boolean sameOrigin(URI uri) {
        return endpoint.getScheme().equalsIgnoreCase(uri.getScheme())
                && endpoint.getHost().equalsIgnoreCase(uri.getHost()) && port(endpoint) == port(uri);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private HttpURLConnection open(URI uri) throws IOException {
        HttpURLConnection c;
        try {
            c = (HttpURLConnection) uri.toURL().openConnection();
        } catch (MalformedURLException | IllegalArgumentException e) {
            throw new ModelLoadException("cannot request " + uri + ": " + e.getMessage(), e);
        }
        c.setInstanceFollowRedirects(false);
        c.setConnectTimeout(millis(limits.timeout()));
        c.setReadTimeout(millis(limits.timeout()));
        c.setUseCaches(false);
        c.setRequestProperty("User-Agent", "refrag-java");
        return c;
    }

    private static int millis(Duration d) {
        return (int) Math.min(Integer.MAX_VALUE, Math.max(1, d.toMillis()));
    }

    /**
     * Sleeps before retry {@code attempt + 1}: the first wait doubled per attempt, at most the maximum wait.
     */
    void backoff(int attempt, String what, String why) {
        long wait = Math.min(limits.maxWait().toMillis(), limits.firstWait().toMillis() << Math.min(attempt, 20));
        LOG.warn("{}: {}; retrying in {} ms ({} of {} retries)", what, why, wait, attempt + 1, limits.retries());
        try {
            Thread.sleep(wait);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ModelLoadException("interrupted while waiting to retry " + what, e);
        }
    }

    /**
     * Reads a whole answer, refusing one over the cap before holding more than the cap in memory.
     *
     * @param r the answer
     * @param what what it should be, for messages
     * @return its text (UTF-8)
     */
    String readBounded(Response r, String what) {
        long cap = limits.maxAnswerBytes();
        long announced = r.connection.getContentLengthLong();
        if (announced > cap) {
            throw tooLarge(r, what, announced + " bytes");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buffer = new byte[1 << 14];
        try {
            for (int n; (n = r.body.read(buffer)) >= 0; ) {
                if (out.size() + (long) n > cap) {
                    throw tooLarge(r, what, "more than " + cap + " bytes");
                }
                out.write(buffer, 0, n);
            }
        } catch (IOException e) {
            throw new ModelLoadException(r.uri.getHost() + " stopped sending " + what + " after " + out.size()
                    + " bytes (" + describe(e) + ")", e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private ModelLoadException tooLarge(Response r, String what, String size) {
        return new ModelLoadException(r.uri.getHost() + " sent " + size + " for " + what + "; at most "
                + limits.maxAnswerBytes() + " bytes are accepted (" + r.uri + ")");
    }

    /** @return an I/O failure in words: a timeout names the limit, a reset says so */
    String describe(IOException e) {
        if (e instanceof SocketTimeoutException) {
            boolean connecting = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT).contains("connect");
            return (connecting ? "no connection" : "no data") + " for " + limits.timeout().toMillis()
                    + " ms (HF_HUB_DOWNLOAD_TIMEOUT)";
        }
        return Objects.requireNonNullElse(e.getMessage(), e.getClass().getSimpleName());
    }
}
