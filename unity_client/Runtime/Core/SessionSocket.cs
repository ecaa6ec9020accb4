using System;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace GameGen.Client
{
    /// <summary>The WebSocket a <see cref="SessionClient"/> talks through: whole text messages in and
    /// out. The default is <see cref="ClientWebSocketSocket"/> (System.Net.WebSockets: editor, Mono and
    /// IL2CPP players); a WebGL player has no sockets of its own and uses the browser's WebSocket
    /// (GameGen.Unity.BrowserWebSocket, installed for WebGL builds through <see cref="SessionClient.DefaultSocket"/>).</summary>
    public interface ISessionSocket : IDisposable
    {
        /// <summary>Connects; a failure throws (any exception: the session reports it as UNAVAILABLE).</summary>
        Task ConnectAsync(Uri uri, CancellationToken cancel);

        /// <summary>Sends one whole text message.</summary>
        Task SendAsync(string text, CancellationToken cancel);

        /// <summary>The next whole text message; null once the server closed the socket (then
        /// <see cref="CloseDescription"/> says why, when it said).</summary>
        Task<string> ReceiveAsync(CancellationToken cancel);

        string CloseDescription { get; }

        /// <summary>Closes normally, if the socket is still open.</summary>
        Task CloseAsync(CancellationToken cancel);

        /// <summary>Drops the connection at once; pending receives end.</summary>
        void Abort();
    }

    /// <summary><see cref="ISessionSocket"/> over System.Net.WebSockets.ClientWebSocket.</summary>
    public sealed class ClientWebSocketSocket : ISessionSocket
    {
        readonly ClientWebSocket socket = new ClientWebSocket();
        readonly byte[] buffer = new byte[64 * 1024];
        readonly MemoryStream message = new MemoryStream();

        public string CloseDescription { get; private set; }

        public Task ConnectAsync(Uri uri, CancellationToken cancel) { return socket.ConnectAsync(uri, cancel); }

        public Task SendAsync(string text, CancellationToken cancel)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            return socket.SendAsync(new ArraySegment<byte>(bytes), WebSocketMessageType.Text, true, cancel);
        }

        public async Task<string> ReceiveAsync(CancellationToken cancel)
        {
            while (true)
            {
                var r = await socket.ReceiveAsync(new ArraySegment<byte>(buffer), cancel).ConfigureAwait(false);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    CloseDescription = r.CloseStatusDescription;
                    return null;
                }
                message.Write(buffer, 0, r.Count);
                if (!r.EndOfMessage) continue;
                var text = Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length);
                message.SetLength(0);
                return text;
            }
        }

        public async Task CloseAsync(CancellationToken cancel)
        {
            if (socket.State == WebSocketState.Open || socket.State == WebSocketState.CloseReceived)
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "client closed", cancel).ConfigureAwait(false);
        }

        public void Abort() { socket.Abort(); }

        public void Dispose() { socket.Dispose(); }
    }
}
