export default function MonitorPage() { return null; }
