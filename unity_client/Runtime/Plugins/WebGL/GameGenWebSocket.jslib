// The browser's WebSocket for GameGen sessions in a WebGL player (Runtime/Unity/BrowserWebSocket.cs).
// Each socket queues what it reports; C# polls the queue once a frame (GameGenWS_Poll), so no
// callback crosses into C# and nothing depends on the Emscripten version's dynCall conventions.
// An event is one string: "o" (open), "m" + text (a message), "e" + text (an error), "c" + code + " " + reason (closed).
var GameGenWebSocketLibrary = {
  $GameGenWS: { sockets: {}, next: 1 },

  GameGenWS_Open: function (urlPtr) {
    var url = UTF8ToString(urlPtr);
    var id = GameGenWS.next++;
    var entry = { socket: null, events: [] };
    GameGenWS.sockets[id] = entry;
    try {
      var socket = new WebSocket(url);
      entry.socket = socket;
      socket.onopen = function () { entry.events.push("o"); };
      socket.onmessage = function (e) {
        if (typeof e.data === "string") entry.events.push("m" + e.data);
        else entry.events.push("e" + "a binary frame; the gateway sends text");
      };
      socket.onerror = function () { entry.events.push("e" + "the WebSocket to " + url + " failed"); };
      socket.onclose = function (e) { entry.events.push("c" + e.code + " " + (e.reason || "")); entry.socket = null; };
    } catch (err) {
      entry.events.push("e" + String(err && err.message || err));
      entry.events.push("c1006 " + String(err && err.message || err));
    }
    return id;
  },

  GameGenWS_Send: function (id, textPtr) {
    var entry = GameGenWS.sockets[id];
    if (!entry || !entry.socket || entry.socket.readyState !== 1) return 1;
    entry.socket.send(UTF8ToString(textPtr));
    return 0;
  },

  GameGenWS_Poll: function (id) {
    var entry = GameGenWS.sockets[id];
    if (!entry || entry.events.length === 0) return null;
    var text = entry.events.shift();
    var size = lengthBytesUTF8(text) + 1;
    var buffer = _malloc(size);       // freed by the C# marshaller (a returned string)
    stringToUTF8(text, buffer, size);
    return buffer;
  },

  GameGenWS_Close: function (id, code, reasonPtr) {
    var entry = GameGenWS.sockets[id];
    if (!entry || !entry.socket) return;
    try { entry.socket.close(code, UTF8ToString(reasonPtr)); } catch (err) { }
  },

  GameGenWS_Free: function (id) {
    var entry = GameGenWS.sockets[id];
    if (!entry) return;
    if (entry.socket) {
      entry.socket.onopen = entry.socket.onmessage = entry.socket.onerror = entry.socket.onclose = null;
      try { entry.socket.close(1000, "freed"); } catch (err) { }
    }
    delete GameGenWS.sockets[id];
  }
};

autoAddDeps(GameGenWebSocketLibrary, "$GameGenWS");
mergeInto(LibraryManager.library, GameGenWebSocketLibrary);
