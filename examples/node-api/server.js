'use strict';

const express = require('express');

const app = express();
app.use(express.json({ limit: '16kb' }));

const port = Number(process.env.PORT) || 80;
const apiToken = process.env.API_TOKEN;

// Kept in memory: a restart forgets every note.
const notes = [];

function requireToken(req, res, next) {
  const header = req.get('authorization') || '';
  if (!apiToken || header !== `Bearer ${apiToken}`) {
    return res.status(401).json({ error: 'unauthorized' });
  }
  return next();
}

app.get('/healthz', (req, res) => {
  res.json({ status: 'ok' });
});

app.get('/notes', (req, res) => {
  res.json(notes);
});

app.post('/notes', requireToken, (req, res) => {
  const text = typeof req.body?.text === 'string' ? req.body.text.trim() : '';
  if (!text) {
    return res.status(400).json({ error: 'text is required' });
  }
  const note = { id: notes.length + 1, text, createdAt: new Date().toISOString() };
  notes.push(note);
  return res.status(201).json(note);
});

const server = app.listen(port, () => {
  console.log(`notes-api listening on port ${port}`);
});

process.on('SIGTERM', () => {
  console.log('SIGTERM received, closing');
  server.close(() => process.exit(0));
});
