export default function PipelinePage() { return null; }
