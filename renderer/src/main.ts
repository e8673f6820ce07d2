/** Renderer entry: picks the API (Electron preload or preview worker) and mounts the app. */
import { mount } from 'svelte';
import { z } from 'zod';
import App from './App.svelte';
import { selectApi } from './lib/api';
import './app.css';

// Zod's JIT probes `new Function`, which the CSP forbids and reports; validate without it.
z.config({ jitless: true });

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');
mount(App, { target, props: { api: selectApi() } });
