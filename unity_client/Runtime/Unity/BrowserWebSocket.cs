using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using GameGen.Client;
using UnityEngine;

namespace GameGen.Unity
{
    /// <summary>A session's socket in a WebGL player: the browser's own WebSocket, driven through
    /// Plugins/WebGL/GameGenWebSocket.jslib. The page queues what the socket reports (open, each text
    /// message, error, close); a hidden pump polls those queues once a frame on the main thread and
    /// completes the session's waits, so no callback crosses from JavaScript into C# and nothing needs
    /// a thread (WebGL has none). Installed for WebGL builds by <see cref="GameGenWebGL"/>; elsewhere
    /// the session uses System.Net.WebSockets.</summary>
    public sealed class BrowserWebSocket : ISessionSocket
    {
        [DllImport("__Internal")] static extern int GameGenWS_Open(string url);
        [DllImport("__Internal")] static extern int GameGenWS_Send(int id, string text);
        [DllImport("__Internal")] static extern string GameGenWS_Poll(int id);
        [DllImport("__Internal")] static extern void GameGenWS_Close(int id, int code, string reason);
        [DllImport("__Internal")] static extern void GameGenWS_Free(int id);

        int id;
        bool open, closed;
        readonly Queue<string> messages = new Queue<string>();
        TaskCompletionSource<bool> connected = new TaskCompletionSource<bool>();
        TaskCompletionSource<bool> signal = new TaskCompletionSource<bool>();
        string lastError;

        public string CloseDescription { get; private set; }

        public async Task ConnectAsync(Uri uri, CancellationToken cancel)
        {
            id = GameGenWS_Open(uri.ToString());
            Pump.Add(this);
            using (cancel.Register(Abort))
                await connected.Task;
        }

        public Task SendAsync(string text, CancellationToken cancel)
        {
            if (!open || closed) throw new InvalidOperationException("the session's WebSocket is not open");
            if (GameGenWS_Send(id, text) != 0) throw new InvalidOperationException("the browser refused to send on the session's WebSocket");
            return Task.FromResult(true);
        }

        public async Task<string> ReceiveAsync(CancellationToken cancel)
        {
            while (true)
            {
                if (messages.Count > 0) return messages.Dequeue();
                if (closed) return null;
                cancel.ThrowIfCancellationRequested();
                var wait = signal.Task;
                using (cancel.Register(() => signal.TrySetCanceled()))
                    await wait;
            }
        }

        public Task CloseAsync(CancellationToken cancel)
        {
            if (open && !closed) GameGenWS_Close(id, 1000, "client closed");
            return Task.FromResult(true);
        }

        public void Abort()
        {
            if (id != 0 && !closed) GameGenWS_Close(id, 1000, "aborted");
            Closed(lastError ?? "aborted by the client");
        }

        public void Dispose()
        {
            Abort();
            Pump.Remove(this);
            if (id != 0) GameGenWS_Free(id);
            id = 0;
        }

        /// <summary>Reads what the page queued for this socket (main thread, once a frame).</summary>
        void Poll()
        {
            string ev;
            while (id != 0 && (ev = GameGenWS_Poll(id)) != null)
            {
                var type = ev.Length > 0 ? ev[0] : '?';
                var rest = ev.Length > 1 ? ev.Substring(1) : "";
                if (type == 'o') { open = true; connected.TrySetResult(true); }
                else if (type == 'm') { messages.Enqueue(rest); Wake(); }
                else if (type == 'e') lastError = rest;
                else if (type == 'c')
                {   // "c<code> <reason>"
                    var space = rest.IndexOf(' ');
                    var code = space < 0 ? rest : rest.Substring(0, space);
                    var reason = space < 0 ? "" : rest.Substring(space + 1);
                    Closed(string.IsNullOrEmpty(reason) ? (lastError ?? "code " + code) : reason);
                }
            }
        }

        void Closed(string why)
        {
            if (closed) return;
            closed = true;
            CloseDescription = why;
            if (!open) connected.TrySetException(new InvalidOperationException("the session's WebSocket did not open: " + why));
            Wake();
        }

        void Wake()
        {
            var s = signal;
            signal = new TaskCompletionSource<bool>();
            s.TrySetResult(true);
        }

        /// <summary>The hidden object whose Update polls every open browser socket.</summary>
        sealed class Pump : MonoBehaviour
        {
            static readonly List<BrowserWebSocket> sockets = new List<BrowserWebSocket>();
            static Pump instance;

            public static void Add(BrowserWebSocket s)
            {
                if (instance == null)
                {
                    var go = new GameObject("GameGen WebGL sockets");
                    DontDestroyOnLoad(go);
                    instance = go.AddComponent<Pump>();
                }
                sockets.Add(s);
            }

            public static void Remove(BrowserWebSocket s) { sockets.Remove(s); }

            void Update()
            {
                foreach (var s in sockets.ToArray())
                {
                    try { s.Poll(); }
                    catch (Exception e) { Debug.LogException(e, this); }
                }
            }
        }
    }

    /// <summary>Makes GameGenClient and SessionClient work in a WebGL player, before the first scene
    /// loads: Generate and ListModels over UnityWebRequest, sessions over the browser's WebSocket. The
    /// gateway must be reachable from the page (same origin, or CORS allowed by a proxy in front of it).</summary>
    public static class GameGenWebGL
    {
#if UNITY_WEBGL && !UNITY_EDITOR
        [RuntimeInitializeOnLoadMethod(RuntimeInitializeLoadType.BeforeSceneLoad)]
        static void InstallOnLoad() { Install(); }
#endif

        /// <summary>Routes new clients and sessions through UnityWebRequest and the browser's WebSocket
        /// (called for WebGL players automatically; call it yourself only to test the WebGL path).</summary>
        public static void Install()
        {
            GameGenClient.DefaultTransport = url => new UnityWebRequestTransport(url);
            SessionClient.DefaultSocket = () => new BrowserWebSocket();
        }
    }
}
