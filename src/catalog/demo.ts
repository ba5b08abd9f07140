import type { CreateProduct } from './schemas.js';

const chatRequest = `curl -X POST "$GATEWAY/models/chat/v1/chat/completions" \\
  -H "Authorization: Bearer $API_KEY" -H "Content-Type: application/json" \\
  -d '{"model": "portico-chat-large", "messages": [{"role": "user", "content": "Hello"}]}'`;

/** Sample products of each type for `portico seed demo`: what a platform's catalog looks like on day one. */
export const DEMO_PRODUCTS: CreateProduct[] = [
  {
    slug: 'chat-large', name: 'Chat Large', type: 'model', category: 'Text generation',
    description: 'A general-purpose chat model with a 128k-token context window.',
    overview: '## Chat Large\n\nAnswers questions, drafts text and follows instructions. Streams tokens as they are generated.\n\n- 128k-token context\n- JSON mode and tool calls',
    guide: '### Quick start\n\n1. Create a consumer and an API key in the console.\n2. Subscribe the consumer to this product.\n3. Send the request below with your key.',
    sampleRequests: [{ title: 'Chat completion', request: chatRequest, response: '{"id": "chatcmpl-1", "choices": [{"message": {"role": "assistant", "content": "Hello! How can I help?"}}]}' }],
    routePrefix: '/models/chat', status: 'published',
  },
  {
    slug: 'embeddings-multilingual', name: 'Multilingual Embeddings', type: 'model', category: 'Embeddings',
    description: 'Dense vectors for search and clustering in 100+ languages.',
    overview: 'Turns text into 1,024-dimension vectors. Use it for semantic search, deduplication and recommendations.',
    guide: 'Send up to 96 texts per request. Vectors are normalised, so cosine similarity is a dot product.',
    sampleRequests: [{ title: 'Embed two sentences', request: 'POST /models/embeddings/v1/embeddings\n{"input": ["Guten Tag", "Good day"]}' }],
    routePrefix: '/models/embeddings', status: 'published',
  },
  {
    slug: 'speech-to-text', name: 'Speech to Text', type: 'model', category: 'Speech',
    description: 'Transcribes audio files with timestamps and speaker labels.',
    overview: 'Accepts WAV, MP3 and FLAC up to 25 MB. Returns text with word-level timestamps.',
    guide: 'Upload the file as multipart/form-data in the field `file`.',
    sampleRequests: [{ title: 'Transcribe a file', request: 'POST /models/speech/v1/transcriptions\nContent-Type: multipart/form-data' }],
    routePrefix: '/models/speech', status: 'published', subscriptionApproval: 'manual',
  },
  {
    slug: 'weather-mcp', name: 'Weather MCP Server', type: 'mcp', category: 'Data',
    description: 'Current conditions and forecasts as MCP tools for any assistant.',
    overview: 'Exposes the tools `get_forecast` and `get_alerts` over the MCP streamable HTTP transport.',
    guide: 'Add the server URL to your MCP client; it discovers Portico as its authorization server and asks you to sign in.',
    sampleRequests: [{ title: 'List tools', request: 'POST /mcp/weather\n{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}' }],
    routePrefix: '/mcp/weather', resourceUri: 'https://mcp.example.com/mcp/weather', status: 'published',
  },
  {
    slug: 'github-issues-mcp', name: 'Issue Tracker MCP Server', type: 'mcp', category: 'Developer tools',
    description: 'Search, read and file issues from an assistant.',
    overview: 'Tools: `search_issues`, `get_issue`, `create_issue`. Writes need the `issues:write` scope.',
    guide: 'Connect your MCP client to the server URL and approve the requested scopes on the consent page.',
    sampleRequests: [],
    routePrefix: '/mcp/issues', resourceUri: 'https://mcp.example.com/mcp/issues', status: 'published',
  },
  {
    slug: 'support-agent', name: 'Customer Support Agent', type: 'agent', category: 'Customer service',
    description: 'Answers customer questions from your knowledge base and hands over to a human when unsure.',
    overview: 'A hosted agent with retrieval over your documents, conversation memory and escalation rules.',
    guide: 'Create a conversation, then post messages to it. The agent replies with answers and cited sources.',
    sampleRequests: [{ title: 'Ask a question', request: 'POST /agents/support/v1/conversations/{id}/messages\n{"content": "How do I reset my password?"}' }],
    routePrefix: '/agents/support', status: 'published',
  },
  {
    slug: 'data-analyst-agent', name: 'Data Analyst Agent', type: 'agent', category: 'Analytics',
    description: 'Answers questions about your spreadsheets with charts and explanations.',
    overview: 'Upload CSV or XLSX files; ask in plain language; get tables, charts and the reasoning behind them.',
    guide: 'Files are kept for 24 hours. Each answer lists the steps the agent took.',
    sampleRequests: [{ title: 'Ask about a file', request: 'POST /agents/analyst/v1/questions\n{"fileId": "f_123", "question": "Which region grew fastest?"}' }],
    routePrefix: '/agents/analyst', status: 'published',
  },
];
