using System;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace GameGen.Client
{
    /// <summary>The gateway's HTTP API over System.Net.Http: GET /v1/models, POST /v1/generate answered
    /// with NDJSON read line by line as it streams (ResponseHeadersRead). Cancelling closes the response,
    /// which the gateway turns into a gRPC cancel. Works in the editor and in Mono/IL2CPP players; WebGL
    /// has no System.Net and needs a UnityWebRequest/fetch transport instead.</summary>
    public sealed class HttpTransport : ITransport
    {
        /// <summary>Extra time past a call's deadline before the client stops waiting for the server's
        /// DEADLINE_EXCEEDED itself (the server's answer is the normal path).</summary>
        public static readonly TimeSpan DeadlineGrace = TimeSpan.FromSeconds(5);

        readonly HttpClient http;
        readonly Uri baseUri;
        readonly bool ownsClient;

        public HttpTransport(string baseUrl, HttpMessageHandler handler = null)
        {
            if (string.IsNullOrEmpty(baseUrl)) throw new ArgumentException("baseUrl is empty; expected e.g. http://127.0.0.1:8080");
            baseUri = new Uri(baseUrl.EndsWith("/") ? baseUrl : baseUrl + "/");
            http = handler == null ? new HttpClient() : new HttpClient(handler);
            http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;  // streams last as long as generation does
            ownsClient = true;
        }

        public Uri BaseUri { get { return baseUri; } }

        public async Task<string> ListModelsAsync(string kind, CancellationToken cancel)
        {
            var path = string.IsNullOrEmpty(kind) ? "v1/models" : "v1/models?kind=" + Uri.EscapeDataString(kind);
            HttpResponseMessage response;
            try
            {
                response = await http.GetAsync(new Uri(baseUri, path), cancel).ConfigureAwait(false);
            }
            catch (Exception e) { throw Failure(e, cancel.IsCancellationRequested, false); }
            using (response)
            {
                string body;
                try { body = await response.Content.ReadAsStringAsync().ConfigureAwait(false); }
                catch (Exception e) { throw Failure(e, cancel.IsCancellationRequested, false); }
                if (response.StatusCode != HttpStatusCode.OK) throw ErrorFrom((int)response.StatusCode, body);
                return body;
            }
        }

        public async Task<IEventStream> GenerateAsync(string requestJson, CallOptions options, CancellationToken cancel)
        {
            var message = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "v1/generate"))
            {
                Content = new StringContent(requestJson, Encoding.UTF8, "application/json"),
            };
            var stream = new HttpEventStream(cancel);
            if (options != null && options.Timeout.HasValue)
            {
                message.Headers.Add("X-Gamegen-Timeout", options.Timeout.Value.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
                stream.SetDeadline(options.Timeout.Value + DeadlineGrace);
            }
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, stream.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                var failure = stream.Failure(e);
                stream.Dispose();
                throw failure;
            }
            if (response.StatusCode != HttpStatusCode.OK)
            {
                string body = "";
                try { body = await response.Content.ReadAsStringAsync().ConfigureAwait(false); }
                catch (Exception) { }
                response.Dispose();
                stream.Dispose();
                throw ErrorFrom((int)response.StatusCode, body);
            }
            try
            {
                await stream.Attach(response).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                var failure = stream.Failure(e);
                stream.Dispose();
                throw failure;
            }
            return stream;
        }

        internal static GameGenException ErrorFrom(int status, string body)
        {
            var e = GameGenException.FromErrorJson(body);
            if (e != null) return e;
            var text = (body ?? "").Trim();
            if (text.Length > 300) text = text.Substring(0, 300) + "...";
            return new GameGenException(GameGenException.FromHttpStatus(status),
                                        string.Format(CultureInfo.InvariantCulture, "HTTP {0}{1}", status, text.Length > 0 ? ": " + text : ""));
        }

        internal static GameGenException Failure(Exception e, bool cancelled, bool deadline)
        {
            if (e is GameGenException) return (GameGenException)e;
            if (deadline) return new GameGenException(StatusCode.DeadlineExceeded, "the server did not answer within the deadline", e);
            if (cancelled) return new GameGenException(StatusCode.Cancelled, "cancelled by the client", e);
            var inner = e;
            while (inner.InnerException != null && !(inner is WebException)) inner = inner.InnerException;
            return new GameGenException(StatusCode.Unavailable, "the server cannot be reached or went away: " + inner.Message, e);
        }

        public void Dispose()
        {
            if (ownsClient) http.Dispose();
        }

        sealed class HttpEventStream : IEventStream
        {
            readonly CancellationToken user;
            readonly CancellationTokenSource cts;
            CancellationTokenSource deadline;
            CancellationTokenRegistration registration;
            HttpResponseMessage response;
            NdjsonReader reader;
            int disposed;

            public HttpEventStream(CancellationToken user)
            {
                this.user = user;
                cts = CancellationTokenSource.CreateLinkedTokenSource(user);
                // closing the response is what stops a pending read (and tells the gateway to cancel)
                registration = cts.Token.Register(Close);
            }

            public CancellationToken Token { get { return cts.Token; } }

            public void SetDeadline(TimeSpan after)
            {
                deadline = new CancellationTokenSource();
                deadline.Token.Register(() => { try { cts.Cancel(); } catch (ObjectDisposedException) { } });
                deadline.CancelAfter(after);
            }

            public async Task Attach(HttpResponseMessage r)
            {
                response = r;
                var body = await r.Content.ReadAsStreamAsync().ConfigureAwait(false);
                reader = new NdjsonReader(body);
                if (cts.IsCancellationRequested) Close();
            }

            public GameGenException Failure(Exception e)
            {
                return HttpTransport.Failure(e, user.IsCancellationRequested,
                                             deadline != null && deadline.IsCancellationRequested);
            }

            public async Task<string> ReadLineAsync()
            {
                while (true)
                {
                    if (cts.IsCancellationRequested) throw Failure(new OperationCanceledException());
                    string line;
                    try
                    {
                        line = await reader.ReadLineAsync().ConfigureAwait(false);
                    }
                    catch (Exception e) { throw Failure(e); }
                    if (cts.IsCancellationRequested) throw Failure(new OperationCanceledException());
                    if (line == null) return null;
                    if (line.Length > 0) return line;
                }
            }

            void Close()
            {
                var r = response;
                if (r != null) { try { r.Dispose(); } catch (Exception) { } }
            }

            public void Dispose()
            {
                if (Interlocked.Exchange(ref disposed, 1) == 1) return;
                registration.Dispose();
                Close();
                if (deadline != null) deadline.Dispose();
                cts.Dispose();
            }
        }
    }

    /// <summary>Splits a byte stream into lines (UTF-8, '\n'-terminated) as they arrive. Works on bytes
    /// and decodes each line once (Mono: 13-18 ms for a 2 MB asset line, StreamReader.ReadLineAsync
    /// 21-29 ms).</summary>
    public sealed class NdjsonReader
    {
        readonly Stream stream;
        readonly byte[] buffer = new byte[64 * 1024];
        readonly MemoryStream line = new MemoryStream();
        int start, end;
        bool eof;

        public NdjsonReader(Stream stream) { this.stream = stream; }

        /// <summary>The next line without its '\n' (a trailing '\r' is dropped); null at the end.</summary>
        public async Task<string> ReadLineAsync()
        {
            while (true)
            {
                if (start < end)
                {
                    int nl = Array.IndexOf(buffer, (byte)'\n', start, end - start);
                    if (nl >= 0)
                    {
                        line.Write(buffer, start, nl - start);
                        start = nl + 1;
                        return Take();
                    }
                    line.Write(buffer, start, end - start);
                    start = end;
                }
                if (eof) return line.Length > 0 ? Take() : null;
                int n = await stream.ReadAsync(buffer, 0, buffer.Length).ConfigureAwait(false);
                start = 0;
                end = n;
                if (n == 0) eof = true;
            }
        }

        string Take()
        {
            var bytes = line.GetBuffer();
            int length = (int)line.Length;
            if (length > 0 && bytes[length - 1] == (byte)'\r') length--;
            var text = Encoding.UTF8.GetString(bytes, 0, length);
            line.SetLength(0);
            return text;
        }
    }
}
