export default function DependenciesPage() { return null; }
