using System;
using System.Collections.Generic;
using GameGen.Client.Json;

namespace GameGen.Client
{
    /// <summary>gRPC status codes, as the server and the gateway report them.</summary>
    public enum StatusCode
    {
        OK = 0, Cancelled = 1, Unknown = 2, InvalidArgument = 3, DeadlineExceeded = 4, NotFound = 5,
        AlreadyExists = 6, PermissionDenied = 7, ResourceExhausted = 8, FailedPrecondition = 9, Aborted = 10,
        OutOfRange = 11, Unimplemented = 12, Internal = 13, Unavailable = 14, DataLoss = 15, Unauthenticated = 16,
    }

    /// <summary>Every failure of a call: the gRPC code (Code, and CodeName as the server spells it,
    /// "NOT_FOUND") and the server's message, which names the field and what is allowed.</summary>
    public class GameGenException : Exception
    {
        static readonly string[] Names =
        {
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        };

        public readonly StatusCode Code;
        /// <summary>The message alone, without the code.</summary>
        public readonly string Details;

        public GameGenException(StatusCode code, string details, Exception inner = null)
            : base(NameOf(code) + ": " + details, inner)
        {
            Code = code;
            Details = details;
        }

        public string CodeName { get { return NameOf(Code); } }

        public static string NameOf(StatusCode code)
        {
            var i = (int)code;
            return i >= 0 && i < Names.Length ? Names[i] : i.ToString();
        }

        public static StatusCode Parse(string name)
        {
            var i = Array.IndexOf(Names, name);
            return i < 0 ? StatusCode.Unknown : (StatusCode)i;
        }

        /// <summary>The code for an HTTP status, when the body says nothing better (the gateway's table).</summary>
        public static StatusCode FromHttpStatus(int status)
        {
            switch (status)
            {
                case 400: return StatusCode.InvalidArgument;
                case 404: return StatusCode.NotFound;
                case 409: return StatusCode.Aborted;
                case 412: return StatusCode.FailedPrecondition;
                case 429: return StatusCode.ResourceExhausted;
                case 499: return StatusCode.Cancelled;
                case 500: return StatusCode.Internal;
                case 501: return StatusCode.Unimplemented;
                case 502: case 503: return StatusCode.Unavailable;
                case 504: return StatusCode.DeadlineExceeded;
                default: return StatusCode.Unknown;
            }
        }

        /// <summary>Reads the gateway's error object {"error": {"code": "NOT_FOUND", "message": "..."}};
        /// null when the text is not one.</summary>
        public static GameGenException FromErrorJson(string text)
        {
            try
            {
                var o = JsonParser.Parse(text) as JsonObject;
                var e = o == null ? null : o.Find("error") as JsonObject;
                if (e == null) return null;
                return new GameGenException(Parse(e.GetString("code")), e.GetString("message"));
            }
            catch (FormatException) { return null; }
        }

        internal static GameGenException InvalidArgument(string details) { return new GameGenException(StatusCode.InvalidArgument, details); }
    }
}
