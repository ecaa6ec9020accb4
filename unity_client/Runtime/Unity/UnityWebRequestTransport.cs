using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using GameGen.Client;
using UnityEngine.Networking;

namespace GameGen.Unity
{
    /// <summary>The gateway's HTTP API over UnityWebRequest: what a WebGL player uses (WebGL has no
    /// System.Net; <see cref="GameGenWebGL"/> installs this transport there), and usable on every other
    /// platform too. GET /v1/models; POST /v1/generate whose NDJSON is split into events as its bytes
    /// arrive (a DownloadHandlerScript). In a WebGL player the browser hands the body over when the
    /// response is complete, so a Generate call's events arrive together at its end there: fine for
    /// assets, and a game that wants progress in the browser holds a session (WebSocket) instead.
    /// Cancelling, or disposing the call, aborts the request; the gateway sees the connection close and
    /// cancels the generation. Create and call it on the main thread (UnityWebRequest's rule); a cancel
    /// from another thread is passed to the main thread.</summary>
    public sealed class UnityWebRequestTransport : ITransport
    {
        readonly string baseUrl;

        public UnityWebRequestTransport(string baseUrl)
        {
            if (string.IsNullOrEmpty(baseUrl)) throw new ArgumentException("baseUrl is empty; expected e.g. http://127.0.0.1:50052");
            this.baseUrl = baseUrl.TrimEnd('/');
        }

        public async Task<string> ListModelsAsync(string kind, CancellationToken cancel)
        {
            var url = baseUrl + (string.IsNullOrEmpty(kind) ? "/v1/models" : "/v1/models?kind=" + Uri.EscapeDataString(kind));
            using (var request = UnityWebRequest.Get(url))
            {
                var done = new TaskCompletionSource<bool>();
                using (OnCancel(cancel, request, null))
                {
                    request.SendWebRequest().completed += _ => done.TrySetResult(true);
                    await done.Task;
                }
                var status = request.responseCode;
                var body = request.downloadHandler.text;
                if (status == 200 && string.IsNullOrEmpty(request.error)) return body;
                if (status != 200 && status != 0 && !cancel.IsCancellationRequested) throw HttpTransport.ErrorFrom((int)status, body);
                throw Failure(request.error, cancel.IsCancellationRequested, false);
            }
        }

        public async Task<IEventStream> GenerateAsync(string requestJson, CallOptions options, CancellationToken cancel)
        {
            var request = new UnityWebRequest(baseUrl + "/v1/generate", UnityWebRequest.kHttpVerbPOST);
            request.uploadHandler = new UploadHandlerRaw(Encoding.UTF8.GetBytes(requestJson)) { contentType = "application/json" };
            request.SetRequestHeader("Content-Type", "application/json");
            var deadline = options != null && options.Timeout.HasValue;
            if (deadline)
            {
                request.SetRequestHeader("X-Gamegen-Timeout", options.Timeout.Value.TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
                request.timeout = (int)Math.Ceiling((options.Timeout.Value + HttpTransport.DeadlineGrace).TotalSeconds);
            }
            var stream = new RequestStream(request, cancel, deadline ? DateTime.UtcNow.AddSeconds(request.timeout) : (DateTime?)null);
            request.downloadHandler = stream.Lines;
            stream.Start();
            // the status line comes before any event: a refused request throws here, as HttpTransport's does
            await stream.FirstAsync();
            if (stream.Refused != null)
            {
                var e = stream.Refused;
                stream.Dispose();
                throw e;
            }
            return stream;
        }

        public void Dispose() { }

        /// <summary>Aborts the request on the main thread when the token is cancelled.</summary>
        static CancellationTokenRegistration OnCancel(CancellationToken cancel, UnityWebRequest request, Action also)
        {
            if (!cancel.CanBeCanceled) return default(CancellationTokenRegistration);
            var main = SynchronizationContext.Current;
            return cancel.Register(() =>
            {
                if (also != null) also();
                SendOrPostCallback abort = _ => { try { request.Abort(); } catch (Exception) { } };
                if (main != null && SynchronizationContext.Current != main) main.Post(abort, null);
                else abort(null);
            });
        }

        /// <summary>A request that got no HTTP answer (or lost it): cancelled, past its deadline, or unreachable.</summary>
        static GameGenException Failure(string error, bool cancelled, bool deadline)
        {
            if (cancelled) return new GameGenException(StatusCode.Cancelled, "cancelled by the client");
            if (deadline) return new GameGenException(StatusCode.DeadlineExceeded, "the server did not answer within the deadline (" + error + ")");
            return new GameGenException(StatusCode.Unavailable, "the server cannot be reached or went away: " + (string.IsNullOrEmpty(error) ? "no response" : error));
        }

        /// <summary>One Generate call: the request, its lines as they arrive, and how it ended. Every
        /// UnityWebRequest member is touched on the main thread only (in its callbacks and in
        /// Start/Dispose); readers on other threads see only the queue and flags, under a lock.</summary>
        sealed class RequestStream : IEventStream
        {
            readonly UnityWebRequest request;
            readonly CancellationToken cancel;
            readonly DateTime? deadline;
            readonly object gate = new object();
            readonly Queue<string> queue = new Queue<string>();
            TaskCompletionSource<bool> signal = new TaskCompletionSource<bool>();
            readonly TaskCompletionSource<bool> first = new TaskCompletionSource<bool>();
            CancellationTokenRegistration registration;
            bool ended, cancelled;
            GameGenException failure;
            int disposed;

            public readonly LineHandler Lines;
            public GameGenException Refused;

            public RequestStream(UnityWebRequest request, CancellationToken cancel, DateTime? deadline)
            {
                this.request = request;
                this.cancel = cancel;
                this.deadline = deadline;
                Lines = new LineHandler(this);
            }

            public void Start()
            {
                registration = OnCancel(cancel, request, () =>
                {
                    lock (gate) { cancelled = true; }
                    Wake();
                });
                request.SendWebRequest().completed += _ => Completed();
            }

            public Task FirstAsync() { return first.Task; }

            /// <summary>True once the answer is known to be 200: the body is events, split into lines.</summary>
            internal bool Streaming { get { return request.responseCode == 200; } }

            /// <summary>The handler split off whole lines of a 200 answer.</summary>
            internal void Received(List<string> lines)
            {
                lock (gate) { foreach (var l in lines) queue.Enqueue(l); }
                first.TrySetResult(true);
                Wake();
            }

            void Completed()
            {
                var status = request.responseCode;
                var error = request.error;
                GameGenException f = null;
                if (status != 200 && status != 0 && !cancel.IsCancellationRequested)
                    f = HttpTransport.ErrorFrom((int)status, Lines.Body());      // refused: the body is the status
                else if (status != 200 || !string.IsNullOrEmpty(error))
                    f = Failure(error, cancel.IsCancellationRequested, deadline.HasValue && DateTime.UtcNow >= deadline.Value.AddSeconds(-1));
                lock (gate)
                {
                    if (f == null) foreach (var l in Lines.Flush()) queue.Enqueue(l);
                    ended = true;
                    failure = f;
                }
                if (f != null && !first.Task.IsCompleted) Refused = f;   // before any event: GenerateAsync throws it
                first.TrySetResult(true);
                Wake();
            }

            void Wake()
            {
                TaskCompletionSource<bool> s;
                lock (gate) { s = signal; signal = new TaskCompletionSource<bool>(); }
                s.TrySetResult(true);
            }

            public async Task<string> ReadLineAsync()
            {
                while (true)
                {
                    Task wait;
                    lock (gate)
                    {
                        if (cancelled) throw new GameGenException(StatusCode.Cancelled, "cancelled by the client");
                        while (queue.Count > 0)
                        {
                            var line = queue.Dequeue();
                            if (line.Length > 0) return line;
                        }
                        if (ended)
                        {
                            if (failure != null) throw failure;
                            return null;
                        }
                        wait = signal.Task;
                    }
                    await wait;
                }
            }

            public void Dispose()
            {
                if (Interlocked.Exchange(ref disposed, 1) == 1) return;
                registration.Dispose();
                bool done;
                lock (gate) { done = ended; cancelled = cancelled || !ended; }
                Wake();
                if (!done) { try { request.Abort(); } catch (Exception) { } }
                request.Dispose();
            }
        }

        /// <summary>Splits the response body into lines as it arrives (UTF-8, '\n'-terminated).</summary>
        sealed class LineHandler : DownloadHandlerScript
        {
            readonly RequestStream owner;
            readonly MemoryStream pending = new MemoryStream();

            public LineHandler(RequestStream owner) : base(new byte[64 * 1024]) { this.owner = owner; }

            protected override bool ReceiveData(byte[] data, int dataLength)
            {
                if (data == null || dataLength <= 0) return true;
                if (!owner.Streaming)
                {   // a refused request's body (the gateway's error JSON): kept whole for Completed
                    pending.Write(data, 0, dataLength);
                    return true;
                }
                var lines = new List<string>();
                int start = 0;
                for (int i = 0; i < dataLength; i++)
                {
                    if (data[i] != (byte)'\n') continue;
                    pending.Write(data, start, i - start);
                    lines.Add(Take());
                    start = i + 1;
                }
                pending.Write(data, start, dataLength - start);
                owner.Received(lines);
                return true;
            }

            /// <summary>Whatever is left after the last '\n' (the end of the body).</summary>
            public List<string> Flush()
            {
                var rest = new List<string>();
                if (pending.Length > 0) rest.Add(Take());
                return rest;
            }

            /// <summary>The whole body of a refused request (it is not split: nothing was queued).</summary>
            public string Body() { return pending.Length > 0 ? Take() : ""; }

            string Take()
            {
                var bytes = pending.GetBuffer();
                int length = (int)pending.Length;
                if (length > 0 && bytes[length - 1] == (byte)'\r') length--;
                var text = Encoding.UTF8.GetString(bytes, 0, length);
                pending.SetLength(0);
                return text;
            }
        }
    }
}
