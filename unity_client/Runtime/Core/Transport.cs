using System;
using System.Threading;
using System.Threading.Tasks;

namespace GameGen.Client
{
    /// <summary>Options of one call.</summary>
    public sealed class CallOptions
    {
        /// <summary>The server stops the call with DEADLINE_EXCEEDED after this long (sent as
        /// X-Gamegen-Timeout); the client gives up too if the server does not answer a few seconds later.</summary>
        public TimeSpan? Timeout;
    }

    /// <summary>How a call reaches the server. The default is HTTP/NDJSON (<see cref="HttpTransport"/>);
    /// a Unity player on WebGL, or the optional native gRPC transport, plug in here. A transport moves
    /// JSON text in protobuf's JSON mapping and reports every failure as a GameGenException.</summary>
    public interface ITransport : IDisposable
    {
        /// <summary>The ListModelsResponse as JSON.</summary>
        Task<string> ListModelsAsync(string kind, CancellationToken cancel);

        /// <summary>Starts a Generate call. Errors found before the first event throw here.</summary>
        Task<IEventStream> GenerateAsync(string requestJson, CallOptions options, CancellationToken cancel);
    }

    /// <summary>The events of one call, as JSON text, one per line. Dispose cancels the call.</summary>
    public interface IEventStream : IDisposable
    {
        /// <summary>The next event's JSON; null when the stream ended. A line {"error": ...} is the
        /// gateway's status after streaming started.</summary>
        Task<string> ReadLineAsync();
    }
}
