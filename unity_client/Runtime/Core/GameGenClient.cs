using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using GameGen.Client.Json;

namespace GameGen.Client
{
    /// <summary>Callbacks for <see cref="GenerateCall.RunAsync"/> and <see cref="GenerateCall.Coroutine"/>;
    /// any may be null.</summary>
    public sealed class GenerateHandlers
    {
        public Action<Progress> OnProgress;
        public Action<LevelChunk> OnLevelChunk;
        public Action<MusicBar> OnMusicBar;
        public Action<TextDelta> OnTextDelta;
        public Action<Asset> OnAsset;
        public Action<Final> OnFinal;
        /// <summary>Coroutine only: the call failed (RunAsync throws instead).</summary>
        public Action<GameGenException> OnError;

        internal void Dispatch(GenerateEvent e)
        {
            switch (e.Type)
            {
                case GenerateEventType.Progress: if (OnProgress != null) OnProgress(e.Progress); break;
                case GenerateEventType.LevelChunk: if (OnLevelChunk != null) OnLevelChunk(e.Partial.LevelChunk); break;
                case GenerateEventType.MusicBar: if (OnMusicBar != null) OnMusicBar(e.Partial.MusicBar); break;
                case GenerateEventType.TextDelta: if (OnTextDelta != null) OnTextDelta(e.Partial.TextDelta); break;
                case GenerateEventType.Asset: if (OnAsset != null) OnAsset(e.Asset); break;
                case GenerateEventType.Final: if (OnFinal != null) OnFinal(e.Final); break;
            }
        }
    }

    /// <summary>The client: lists models and streams generations. Thread-safe; make one and keep it.
    /// <code>
    /// var client = new GameGenClient("http://127.0.0.1:50052");
    /// using (var call = client.Generate(new GenerateRequest("levels/smb", 7).Set("width", 300).Format("tmj")))
    ///     while (await call.MoveNextAsync())
    ///         if (call.Current.Asset != null) File.WriteAllBytes(call.Current.Asset.Name, call.Current.Asset.Data);
    /// </code></summary>
    public sealed class GameGenClient : IDisposable
    {
        readonly ITransport transport;
        readonly string baseUrl;

        /// <summary>Makes the transport of GameGenClient(baseUrl): HttpTransport (System.Net.Http) unless
        /// replaced; a WebGL player's GameGen.Unity code installs UnityWebRequestTransport here before the
        /// first scene, since WebGL has no System.Net.</summary>
        public static Func<string, ITransport> DefaultTransport = url => new HttpTransport(url);

        /// <summary>A client of the HTTP gateway at baseUrl ("http://host:port").</summary>
        public GameGenClient(string baseUrl) : this(DefaultTransport(baseUrl)) { this.baseUrl = baseUrl; }

        public GameGenClient(ITransport transport) { this.transport = transport; }

        /// <summary>The gateway's base URL (sessions connect to its /v1/session WebSocket); null for other transports.</summary>
        public string BaseUrl { get { return baseUrl; } }

        /// <summary>What the server has loaded: models, parameters with their ranges, formats.</summary>
        public async Task<ListModelsResponse> ListModelsAsync(string kind = null, CancellationToken cancel = default(CancellationToken))
        {
            var json = await transport.ListModelsAsync(kind, cancel).ConfigureAwait(false);
            try { return ListModelsResponse.Read(JsonParser.ParseObject(json)); }
            catch (FormatException e) { throw new GameGenException(StatusCode.Internal, "unreadable model list: " + e.Message, e); }
        }

        /// <summary>Starts a generation. Read its events with MoveNextAsync/Current, RunAsync(handlers)
        /// or the Coroutine; cancelling the token (or disposing the call) stops the server's work.</summary>
        public GenerateCall Generate(GenerateRequest request, CancellationToken cancel = default(CancellationToken), CallOptions options = null)
        {
            if (request == null) throw new ArgumentNullException("request");
            return new GenerateCall(transport, request.ToJson(), options, cancel);
        }

        /// <summary>Opens a session on the gateway's WebSocket (dialog, NPC behaviour).</summary>
        public Task<SessionClient> OpenSessionAsync(SessionOpen open, CancellationToken cancel = default(CancellationToken))
        {
            if (baseUrl == null) throw new InvalidOperationException("sessions need the HTTP gateway's base URL");
            return SessionClient.OpenAsync(baseUrl, open, cancel);
        }

        public void Dispose() { transport.Dispose(); }
    }

    /// <summary>One running generation. Pull events with <c>while (await call.MoveNextAsync())</c>
    /// (C# 7.2 has no await foreach), or let RunAsync / Coroutine call handlers. Failures throw
    /// GameGenException (the Coroutine hands them to OnError): NOT_FOUND, INVALID_ARGUMENT, CANCELLED,
    /// DEADLINE_EXCEEDED, UNAVAILABLE when the server goes away mid-stream.</summary>
    public sealed class GenerateCall : IDisposable
    {
        readonly CancellationTokenSource cts;
        readonly Task<IEventStream> opening;
        IEventStream stream;
        bool finished;
        int disposed;

        internal GenerateCall(ITransport transport, string requestJson, CallOptions options, CancellationToken cancel)
        {
            cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            opening = transport.GenerateAsync(requestJson, options, cts.Token);
        }

        /// <summary>The event MoveNextAsync read last.</summary>
        public GenerateEvent Current { get; private set; }

        /// <summary>The last progress fraction reported (0..1), 1 once the final event arrived.</summary>
        public float Progress { get; private set; }

        /// <summary>The final event, once it arrived.</summary>
        public Final Final { get; private set; }

        /// <summary>Stops the call (the server stops generating); a pending read ends with CANCELLED.</summary>
        public void Cancel()
        {
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
        }

        /// <summary>Reads the next event; false after the final one.</summary>
        public async Task<bool> MoveNextAsync()
        {
            if (finished) return false;
            try
            {
                if (stream == null) stream = await opening.ConfigureAwait(false);
                var line = await stream.ReadLineAsync().ConfigureAwait(false);
                if (line == null)
                    throw new GameGenException(StatusCode.Unavailable, "the stream ended before its final event (the server went away)");
                JsonObject json;
                try { json = JsonParser.ParseObject(line); }
                catch (FormatException e) { throw new GameGenException(StatusCode.Internal, "unreadable event: " + e.Message, e); }
                var error = json.GetObject("error");
                if (error != null)
                    throw new GameGenException(GameGenException.Parse(error.GetString("code")), error.GetString("message"));
                var ev = GenerateEvent.Read(json);
                Current = ev;
                if (ev.Progress != null) Progress = ev.Progress.Fraction;
                if (ev.Final != null) { Final = ev.Final; Progress = 1; }
                if (ev.IsLast) { finished = true; Close(); }
                return true;
            }
            catch (Exception e)
            {
                finished = true;
                Close();
                if (e is GameGenException) throw;
                if (e is FormatException) throw new GameGenException(StatusCode.Internal, "unreadable event: " + e.Message, e);
                throw HttpTransport.Failure(e, cts.IsCancellationRequested, false);
            }
        }

        /// <summary>Reads the whole stream, calling the handlers on the caller's context (in Unity,
        /// awaited from the main thread, they run on the main thread). Returns the final event.</summary>
        public async Task<Final> RunAsync(GenerateHandlers handlers)
        {
            using (this)
            {
                while (await MoveNextAsync()) handlers.Dispatch(Current);
                return Final;
            }
        }

        /// <summary>For Unity coroutines (StartCoroutine(call.Coroutine(handlers))): yields null each
        /// frame and calls the handlers from the coroutine, i.e. on the main thread; the stream is read on
        /// a worker thread, so no frame ever waits for the network. Failures go to handlers.OnError.</summary>
        public IEnumerator Coroutine(GenerateHandlers handlers)
        {
            try
            {
                while (true)
                {
                    GenerateEvent ev;
                    bool more;
                    try
                    {
                        while ((more = TryRead(out ev)) && ev != null) handlers.Dispatch(ev);
                    }
                    catch (GameGenException e)
                    {
                        if (handlers.OnError != null) handlers.OnError(e);
                        yield break;
                    }
                    if (!more) yield break;
                    yield return null;
                }
            }
            finally { Dispose(); }
        }

        readonly ConcurrentQueue<GenerateEvent> pumped = new ConcurrentQueue<GenerateEvent>();
        Task pump;
        volatile GameGenException pumpFailure;

        /// <summary>Polling, for Update(): never blocks. Returns true with the next event when one has
        /// arrived (ev null: none yet, call again next frame), false once the stream is over; throws the
        /// call's GameGenException when it failed. The first call starts reading on a worker thread; do
        /// not mix with MoveNextAsync.</summary>
        public bool TryRead(out GenerateEvent ev)
        {
            if (pump == null)
                pump = Task.Run(async () =>
                {
                    try { while (await MoveNextAsync().ConfigureAwait(false)) pumped.Enqueue(Current); }
                    catch (GameGenException e) { pumpFailure = e; }
                });
            if (pumped.TryDequeue(out ev)) return true;
            if (!pump.IsCompleted) return true;
            if (pumped.TryDequeue(out ev)) return true;  // queued just before the pump finished
            if (pumpFailure != null) throw pumpFailure;
            return false;
        }

        void Close()
        {
            var s = stream;
            if (s != null) s.Dispose();
        }

        /// <summary>Ends the call; before its final event this cancels it.</summary>
        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 1) return;
            Cancel();
            if (stream != null) stream.Dispose();
            else opening.ContinueWith(t =>
            {
                if (t.Status == TaskStatus.RanToCompletion) t.Result.Dispose();
                else if (t.IsFaulted) GC.KeepAlive(t.Exception);  // observed: a call dropped unread is not an error
            }, TaskContinuationOptions.ExecuteSynchronously);
        }
    }
}
