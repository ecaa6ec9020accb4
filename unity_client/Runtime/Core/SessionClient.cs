using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using GameGen.Client.Json;

namespace GameGen.Client
{
    /// <summary>A session (dialog, NPC behaviour) held on the server, over the gateway's /v1/session
    /// WebSocket: each frame one SessionRequest / SessionEvent in protobuf's JSON mapping. Inputs run one
    /// at a time; every event an input causes carries its id and is routed to that input's
    /// <see cref="SessionInputCall"/>. An input's error ends that input only; a status that ends the whole
    /// session (idle timeout, server shutting down, the socket lost) fails every waiting input with a
    /// GameGenException. Disposing without CloseAsync drops the socket, which also frees the session.</summary>
    public sealed class SessionClient : IDisposable
    {
        readonly ISessionSocket socket;
        readonly string kind;
        readonly SemaphoreSlim sendLock = new SemaphoreSlim(1, 1);
        readonly ConcurrentDictionary<ulong, SessionInputCall> inputs = new ConcurrentDictionary<ulong, SessionInputCall>();
        readonly TaskCompletionSource<SessionClosed> closed = new TaskCompletionSource<SessionClosed>();
        readonly CancellationTokenSource stop = new CancellationTokenSource();
        long nextId;
        volatile GameGenException ended;

        /// <summary>Makes the socket each new session talks through; ClientWebSocketSocket unless replaced
        /// (a WebGL player's GameGen.Unity code installs the browser's WebSocket here before the first scene).</summary>
        public static Func<ISessionSocket> DefaultSocket = () => new ClientWebSocketSocket();

        SessionClient(ISessionSocket socket, string kind)
        {
            this.socket = socket;
            this.kind = kind;
        }

        /// <summary>What the server opened: session id, model version, parameters as used.</summary>
        public SessionOpened Opened { get; private set; }

        /// <summary>Set once the session is over (closed, or ended by a status).</summary>
        public GameGenException Ended { get { return ended; } }

        /// <summary>Connects to baseUrl's /v1/session ("http://host:port" or "ws://host:port"), sends
        /// `open` and waits for `opened`. A bad open (unknown model, bad persona, too many sessions)
        /// throws GameGenException.</summary>
        public static Task<SessionClient> OpenAsync(string baseUrl, SessionOpen open, CancellationToken cancel = default(CancellationToken))
        {
            return OpenAsync(baseUrl, open, DefaultSocket(), cancel);
        }

        /// <summary>As OpenAsync(baseUrl, open), through the given socket (not yet connected).</summary>
        public static async Task<SessionClient> OpenAsync(string baseUrl, SessionOpen open, ISessionSocket socket,
                                                          CancellationToken cancel = default(CancellationToken))
        {
            var uri = SessionUri(baseUrl);
            var slash = (open.Model ?? "").IndexOf('/');
            var session = new SessionClient(socket, slash < 0 ? "" : open.Model.Substring(0, slash));
            using (cancel.Register(() => socket.Abort()))
            {
                try
                {
                    await socket.ConnectAsync(uri, cancel).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    socket.Dispose();
                    throw HttpTransport.Failure(e, cancel.IsCancellationRequested, false);
                }
                var opened = new TaskCompletionSource<SessionOpened>();
                session.onOpened = opened;
                var receiving = session.ReceiveLoop();
                try
                {
                    await session.SendAsync(new SessionRequest { Open = open }).ConfigureAwait(false);
                    session.Opened = await opened.Task.ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    session.Dispose();
                    if (e is GameGenException) throw;
                    throw HttpTransport.Failure(e, cancel.IsCancellationRequested, false);
                }
                GC.KeepAlive(receiving);
            }
            return session;
        }

        TaskCompletionSource<SessionOpened> onOpened;

        static Uri SessionUri(string baseUrl)
        {
            var b = new UriBuilder(baseUrl);
            if (b.Scheme == "http") b.Scheme = "ws";
            else if (b.Scheme == "https") b.Scheme = "wss";
            b.Path = b.Path.TrimEnd('/') + "/v1/session";
            return b.Uri;
        }

        /// <summary>Sends one input of the session's kind; its id is chosen here (1, 2, ...) unless set.</summary>
        public SessionInputCall Send(SessionInput input)
        {
            if (input.InputId == 0) input.InputId = (ulong)Interlocked.Increment(ref nextId);
            var call = new SessionInputCall(this, input.InputId);
            if (!inputs.TryAdd(input.InputId, call))
                throw new GameGenException(StatusCode.InvalidArgument, "input_id " + input.InputId + " is already in use in this session");
            var failed = ended;
            if (failed != null) { call.Fail(failed); return call; }
            SendAsync(new SessionRequest { Input = input }).ContinueWith(t =>
            {
                if (t.IsFaulted) call.Fail(HttpTransport.Failure(t.Exception.GetBaseException(), false, false));
            }, TaskContinuationOptions.ExecuteSynchronously);
            return call;
        }

        /// <summary>Sends an input of a kind this client has no typed message for (e.g. "npc"), as the
        /// JSON object of that kind's input message.</summary>
        public SessionInputCall Send(JsonObject kindInput)
        {
            return Send(new SessionInput { OtherKind = kind, OtherInput = kindInput });
        }

        /// <summary>Stops a running input at once; its events end with `end` (stop reason "cancelled").</summary>
        public Task CancelAsync(ulong inputId)
        {
            return SendAsync(new SessionRequest { Cancel = new SessionCancel { InputId = inputId } });
        }

        /// <summary>Closes the session: the server ends any running input, answers `closed`, and the
        /// socket closes normally.</summary>
        public async Task<SessionClosed> CloseAsync(CancellationToken cancel = default(CancellationToken))
        {
            if (ended == null)
            {
                try { await SendAsync(new SessionRequest { Close = new SessionClose() }).ConfigureAwait(false); }
                catch (Exception) { }
            }
            using (cancel.Register(() => closed.TrySetCanceled()))
            {
                SessionClosed result;
                try { result = await closed.Task.ConfigureAwait(false); }
                catch (TaskCanceledException) { result = null; }
                try { await socket.CloseAsync(cancel).ConfigureAwait(false); }
                catch (Exception) { }
                return result;
            }
        }

        async Task SendAsync(SessionRequest request)
        {
            var text = request.ToJson();
            await sendLock.WaitAsync().ConfigureAwait(false);
            try
            {
                var failed = ended;
                if (failed != null) throw failed;
                await socket.SendAsync(text, stop.Token).ConfigureAwait(false);
            }
            finally { sendLock.Release(); }
        }

        async Task ReceiveLoop()
        {
            GameGenException reason = null;
            try
            {
                while (true)
                {
                    var text = await socket.ReceiveAsync(stop.Token).ConfigureAwait(false);
                    if (text == null)
                    {
                        var why = socket.CloseDescription;
                        reason = reason ?? new GameGenException(StatusCode.Unavailable,
                            "the session's socket was closed by the server" + (string.IsNullOrEmpty(why) ? "" : ": " + why));
                        break;
                    }
                    var terminal = Dispatch(text);
                    if (terminal != null) { reason = terminal; break; }
                }
            }
            catch (Exception e)
            {
                reason = reason ?? HttpTransport.Failure(e, stop.IsCancellationRequested, false);
            }
            End(reason);
        }

        /// <summary>Routes one frame; returns the status when it ends the session.</summary>
        GameGenException Dispatch(string text)
        {
            JsonObject json;
            SessionEvent ev;
            try
            {
                json = JsonParser.ParseObject(text);
                ev = SessionEvent.Read(json);
            }
            catch (FormatException e) { return new GameGenException(StatusCode.Internal, "unreadable session event: " + e.Message, e); }
            // The gateway's last frame {"error": {...}} has no input id: a status that ends the session.
            if (ev.Error != null && ev.InputId == 0)
                return new GameGenException(GameGenException.Parse(ev.Error.Code), ev.Error.Message);
            if (ev.Opened != null)
            {
                var o = onOpened;
                if (o != null) o.TrySetResult(ev.Opened);
                return null;
            }
            if (ev.Closed != null)
            {
                closed.TrySetResult(ev.Closed);
                return new GameGenException(StatusCode.Cancelled, "the session is closed (" + ev.Closed.Reason + ")");
            }
            SessionInputCall call;
            if (ev.InputId != 0 && inputs.TryGetValue(ev.InputId, out call))
            {
                call.Post(ev);
                if (ev.EndsInput) inputs.TryRemove(ev.InputId, out call);
            }
            return null;
        }

        void End(GameGenException reason)
        {
            ended = reason;
            var o = onOpened;
            if (o != null) o.TrySetException(reason);
            closed.TrySetResult(null);
            foreach (var kv in inputs) kv.Value.Fail(reason);
            inputs.Clear();
        }

        /// <summary>Drops the socket (the server cancels the running input and frees the session).</summary>
        public void Dispose()
        {
            try { stop.Cancel(); } catch (ObjectDisposedException) { }
            try { socket.Abort(); } catch (Exception) { }
            socket.Dispose();
        }
    }

    /// <summary>The events of one input, in order, ending with its `end`. Pull them with MoveNextAsync,
    /// or poll TryRead from Update. An `error` for the input throws GameGenException (the session goes on).</summary>
    public sealed class SessionInputCall
    {
        readonly SessionClient session;
        readonly ConcurrentQueue<SessionEvent> queue = new ConcurrentQueue<SessionEvent>();
        readonly SemaphoreSlim available = new SemaphoreSlim(0);
        readonly StringBuilder text = new StringBuilder();
        volatile GameGenException failure;
        bool done;

        internal SessionInputCall(SessionClient session, ulong inputId)
        {
            this.session = session;
            InputId = inputId;
        }

        public ulong InputId { get; private set; }
        public SessionEvent Current { get; private set; }
        /// <summary>The text deltas read so far, joined.</summary>
        public string Text { get { return text.ToString(); } }
        public DialogReply Reply { get; private set; }
        public InputEnd End { get; private set; }

        internal void Post(SessionEvent ev) { queue.Enqueue(ev); available.Release(); }

        internal void Fail(GameGenException e)
        {
            if (failure == null) failure = e;
            available.Release();
        }

        public Task CancelAsync() { return session.CancelAsync(InputId); }

        /// <summary>Waits for the next event; false after `end`.</summary>
        public async Task<bool> MoveNextAsync(CancellationToken cancel = default(CancellationToken))
        {
            if (done) return false;
            try { await available.WaitAsync(cancel).ConfigureAwait(false); }
            catch (OperationCanceledException e)
            {
                throw new GameGenException(StatusCode.Cancelled, "stopped waiting for input " + InputId, e);
            }
            return Take();
        }

        /// <summary>Non-blocking, for Update(): true with the next event if one has arrived. Throws
        /// GameGenException when the input failed.</summary>
        public bool TryRead(out SessionEvent ev)
        {
            ev = null;
            if (done || !available.Wait(0)) return false;
            if (!Take()) return false;
            ev = Current;
            return true;
        }

        /// <summary>True once `end` was read (or the input failed).</summary>
        public bool IsDone { get { return done; } }

        bool Take()
        {
            SessionEvent ev;
            if (!queue.TryDequeue(out ev))
            {
                done = true;
                throw failure ?? new GameGenException(StatusCode.Unknown, "input " + InputId + " ended without an event");
            }
            Current = ev;
            if (ev.Error != null)
            {
                done = true;
                throw new GameGenException(GameGenException.Parse(ev.Error.Code), ev.Error.Message);
            }
            if (ev.Partial != null && ev.Partial.TextDelta != null) text.Append(ev.Partial.TextDelta.Text);
            if (ev.DialogReply != null) Reply = ev.DialogReply;
            if (ev.End != null) { End = ev.End; done = true; }
            return true;
        }

        /// <summary>Reads every event of the input; returns its end.</summary>
        public async Task<InputEnd> RunAsync(Action<SessionEvent> onEvent = null)
        {
            while (await MoveNextAsync()) if (onEvent != null) onEvent(Current);
            return End;
        }
    }

    /// <summary>A dialog with one NPC: the persona is sent once at open, each turn sends only the
    /// player's line; text streams as it is decoded, then the whole reply (with emotion and action
    /// when structured), then the turn's end.</summary>
    public sealed class DialogSession : IDisposable
    {
        public readonly SessionClient Session;

        DialogSession(SessionClient session) { Session = session; }

        public static async Task<DialogSession> OpenAsync(string baseUrl, string model, ulong seed, DialogOpen open,
                                                          CancellationToken cancel = default(CancellationToken))
        {
            var s = await SessionClient.OpenAsync(baseUrl, new SessionOpen { Model = model, Seed = seed, Dialog = open }, cancel)
                                       .ConfigureAwait(false);
            return new DialogSession(s);
        }

        /// <summary>One turn: read its deltas and reply from the returned call.</summary>
        public SessionInputCall Say(string playerLine)
        {
            return Session.Send(new SessionInput { Dialog = new DialogTurn { PlayerLine = playerLine } });
        }

        public Task<SessionClosed> CloseAsync() { return Session.CloseAsync(); }

        public void Dispose() { Session.Dispose(); }
    }
}
