// Optional native gRPC transport: HTTP/2 through YetAnotherHttpHandler + Grpc.Net.Client, for
// platforms that have sockets (not WebGL). This assembly compiles only when those packages and
// Google.Protobuf are present (GameGen.Grpc.asmdef: versionDefines + defineConstraints). It moves the
// same JSON as the HTTP transport: requests are parsed into the generated messages
// (Generated/Gamegen.cs, from proto/gamegen/v1/gamegen.proto by protoc 3.21) and events formatted
// back, so the client, its typed events and its errors are the same whichever transport carries them.
// Sessions stay on the gateway's WebSocket.
using System;
using System.Threading;
using System.Threading.Tasks;
using Cysharp.Net.Http;
using GameGen.Client;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = GameGen.V1;

namespace GameGen.Transports
{
    public sealed class GrpcTransport : ITransport
    {
        static readonly Marshaller<V1.GenerateRequest> GenerateRequestMarshaller = Marshallers.Create(m => m.ToByteArray(), V1.GenerateRequest.Parser.ParseFrom);
        static readonly Marshaller<V1.GenerateEvent> GenerateEventMarshaller = Marshallers.Create(m => m.ToByteArray(), V1.GenerateEvent.Parser.ParseFrom);
        static readonly Marshaller<V1.ListModelsRequest> ListRequestMarshaller = Marshallers.Create(m => m.ToByteArray(), V1.ListModelsRequest.Parser.ParseFrom);
        static readonly Marshaller<V1.ListModelsResponse> ListResponseMarshaller = Marshallers.Create(m => m.ToByteArray(), V1.ListModelsResponse.Parser.ParseFrom);

        static readonly Method<V1.ListModelsRequest, V1.ListModelsResponse> ListModelsMethod = new Method<V1.ListModelsRequest, V1.ListModelsResponse>(
            MethodType.Unary, "gamegen.v1.GameGen", "ListModels", ListRequestMarshaller, ListResponseMarshaller);
        static readonly Method<V1.GenerateRequest, V1.GenerateEvent> GenerateMethod = new Method<V1.GenerateRequest, V1.GenerateEvent>(
            MethodType.ServerStreaming, "gamegen.v1.GameGen", "Generate", GenerateRequestMarshaller, GenerateEventMarshaller);

        static readonly JsonFormatter Formatter = new JsonFormatter(JsonFormatter.Settings.Default);
        static readonly JsonParser Parser = new JsonParser(JsonParser.Settings.Default);

        readonly GrpcChannel channel;
        readonly CallInvoker invoker;

        /// <summary>address: "http://host:50051" (plaintext HTTP/2) or "https://...".</summary>
        public GrpcTransport(string address)
        {
            var handler = new YetAnotherHttpHandler { Http2Only = true };
            channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
            {
                HttpHandler = handler, DisposeHttpClient = true,
                MaxReceiveMessageSize = 64 * 1024 * 1024, MaxSendMessageSize = 16 * 1024 * 1024,  // the server's limits
            });
            invoker = channel.CreateCallInvoker();
        }

        public async Task<string> ListModelsAsync(string kind, CancellationToken cancel)
        {
            try
            {
                var response = await invoker.AsyncUnaryCall(ListModelsMethod, null, new global::Grpc.Core.CallOptions(cancellationToken: cancel),
                                                            new V1.ListModelsRequest { Kind = kind ?? "" }).ResponseAsync.ConfigureAwait(false);
                return Formatter.Format(response);
            }
            catch (RpcException e) { throw ToGameGen(e); }
        }

        public Task<IEventStream> GenerateAsync(string requestJson, GameGen.Client.CallOptions options, CancellationToken cancel)
        {
            V1.GenerateRequest request;
            try { request = Parser.Parse<V1.GenerateRequest>(requestJson); }
            catch (InvalidProtocolBufferException e) { throw new GameGenException(StatusCode.InvalidArgument, e.Message, e); }
            DateTime? deadline = null;
            if (options != null && options.Timeout.HasValue) deadline = DateTime.UtcNow + options.Timeout.Value;
            var call = invoker.AsyncServerStreamingCall(GenerateMethod, null, new global::Grpc.Core.CallOptions(deadline: deadline, cancellationToken: cancel), request);
            return Task.FromResult<IEventStream>(new Stream(call, cancel));
        }

        static GameGenException ToGameGen(RpcException e)
        {
            return new GameGenException((StatusCode)(int)e.StatusCode, e.Status.Detail, e);
        }

        sealed class Stream : IEventStream
        {
            readonly AsyncServerStreamingCall<V1.GenerateEvent> call;
            readonly CancellationToken cancel;

            public Stream(AsyncServerStreamingCall<V1.GenerateEvent> call, CancellationToken cancel)
            {
                this.call = call;
                this.cancel = cancel;
            }

            public async Task<string> ReadLineAsync()
            {
                try
                {
                    if (!await call.ResponseStream.MoveNext(cancel).ConfigureAwait(false)) return null;
                    return Formatter.Format(call.ResponseStream.Current);
                }
                catch (RpcException e) { throw ToGameGen(e); }
                catch (OperationCanceledException e) { throw new GameGenException(StatusCode.Cancelled, "cancelled by the client", e); }
            }

            public void Dispose() { call.Dispose(); }
        }

        public void Dispose() { channel.Dispose(); }
    }
}
