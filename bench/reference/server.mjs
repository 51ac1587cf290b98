#!/usr/bin/env node
// The yardstick of issue 5 on our own machine: "a plain in-memory Node.js `ws`
// implementation of this protocol". It speaks the part of the protocol the load scenarios
// use, the way a straightforward Node.js server would: JSON.parse every message, rooms in a
// Map, one JSON.stringify per event and one ws.send per recipient.
//
//   JOIN            -> ROOM_STATE to the joiner, USER_JOINED to the others
//   PLAY_PAUSE, HOST_HEARTBEAT (host only) -> the event with userId to every member
//   OFFER, ANSWER, ICE_CANDIDATE -> the object with from/userId set, to member `to`
//   PING -> PONG;  LEAVE;  anything else -> ERROR
//
// No persistence, no limits beyond ws's maxPayload: it is a cost reference, not a server.
// Started by bench/reference/run.sh with PORT and HOST in the environment (other variables
// the bench scripts pass are ignored); GET /health answers 200.
import http from 'node:http';
import { WebSocketServer } from 'ws';

const port = Number(process.env.PORT || 8080);
const host = process.env.HOST || '127.0.0.1';
const nodeId = process.env.NODE_ID || 'reference';

/** roomId -> { members: Map<userId, {ws, username}>, hostUserId, currentTime, isPlaying, url } */
const rooms = new Map();

function send(ws, object) {
  ws.send(JSON.stringify(object));
}

function error(ws, code, message) {
  send(ws, { type: 'ERROR', code, message });
}

function broadcast(room, object, except) {
  const text = JSON.stringify(object);
  for (const [userId, member] of room.members) {
    if (userId !== except) member.ws.send(text);
  }
}

function roomState(roomId, room) {
  return {
    type: 'ROOM_STATE',
    roomId,
    url: room.url,
    currentTime: room.currentTime,
    isPlaying: room.isPlaying,
    hostUserId: room.hostUserId,
    guestControlEnabled: false,
    users: [...room.members].map(([userId, m]) => ({ userId, username: m.username })),
    nodeId,
  };
}

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});

const wss = new WebSocketServer({ server, path: '/ws', maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  let roomId = null;
  let userId = null;

  function leave() {
    if (roomId === null) return;
    const room = rooms.get(roomId);
    if (room && room.members.get(userId)?.ws === ws) {
      room.members.delete(userId);
      if (room.members.size === 0) {
        rooms.delete(roomId);
      } else {
        if (room.hostUserId === userId) room.hostUserId = room.members.keys().next().value;
        broadcast(room, { type: 'USER_LEFT', userId, hostUserId: room.hostUserId });
      }
    }
    roomId = null;
    userId = null;
  }

  ws.on('message', (data, isBinary) => {
    if (isBinary) return error(ws, 'INVALID_MESSAGE', 'Binary frames are not supported');
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return error(ws, 'INVALID_JSON', 'Invalid JSON');
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      return error(ws, 'INVALID_JSON', 'Message must be a JSON object');
    }
    switch (msg.type) {
      case 'JOIN': {
        if (typeof msg.roomId !== 'string' || typeof msg.userId !== 'string') {
          return error(ws, 'INVALID_MESSAGE', 'roomId and userId are required');
        }
        leave();
        roomId = msg.roomId;
        userId = msg.userId;
        let room = rooms.get(roomId);
        if (!room) {
          room = { members: new Map(), hostUserId: userId, currentTime: 0, isPlaying: false, url: null };
          rooms.set(roomId, room);
        }
        const username = typeof msg.username === 'string' ? msg.username : userId;
        room.members.set(userId, { ws, username });
        send(ws, roomState(roomId, room));
        broadcast(room, { type: 'USER_JOINED', userId, username }, userId);
        return;
      }
      case 'PLAY_PAUSE':
      case 'HOST_HEARTBEAT': {
        const room = roomId === null ? undefined : rooms.get(roomId);
        if (!room) return error(ws, 'NOT_IN_ROOM', 'Join a room first');
        if (room.hostUserId !== userId) return error(ws, 'NOT_HOST', 'Only the host controls playback');
        if (typeof msg.currentTime === 'number') room.currentTime = msg.currentTime;
        if (msg.type === 'PLAY_PAUSE') room.isPlaying = msg.control === 'play';
        else if (typeof msg.isPlaying === 'boolean') room.isPlaying = msg.isPlaying;
        const out = { type: msg.type, userId, currentTime: msg.currentTime, eventTimestamp: msg.eventTimestamp };
        if (msg.type === 'PLAY_PAUSE') out.control = msg.control;
        else out.isPlaying = msg.isPlaying;
        broadcast(room, out);
        return;
      }
      case 'OFFER':
      case 'ANSWER':
      case 'ICE_CANDIDATE': {
        const room = roomId === null ? undefined : rooms.get(roomId);
        if (!room) return error(ws, 'NOT_IN_ROOM', 'Join a room first');
        const target = typeof msg.to === 'string' ? room.members.get(msg.to) : undefined;
        if (!target) return undefined; // absent target: dropped, as in the protocol
        msg.from = userId;
        msg.userId = userId;
        msg.nodeId = nodeId;
        send(target.ws, msg);
        return;
      }
      case 'PING':
        return send(ws, { type: 'PONG', timestamp: msg.timestamp, serverTime: Date.now() });
      case 'LEAVE':
        return leave();
      default:
        return error(ws, 'INVALID_MESSAGE', `Unknown message type ${String(msg.type)}`);
    }
  });
  ws.on('close', leave);
  ws.on('error', () => {});
});

server.listen(port, host);
