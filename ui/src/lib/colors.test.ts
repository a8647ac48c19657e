import { describe, expect, it } from 'vitest';
import { SERVICE_PALETTE, serviceColor } from './colors';

describe('service colours', () => {
  it('gives a service the same colour every time', () => {
    expect(serviceColor('frontend')).toBe(serviceColor('frontend'));
    expect(serviceColor('')).toBe(serviceColor(''));
  });

  it('picks from the palette, which has twenty distinct colours and no red', () => {
    expect(new Set(SERVICE_PALETTE).size).toBe(20);
    expect(SERVICE_PALETTE).not.toContain('#c62828');
    for (const name of ['frontend', 'driver', 'redis', 'mysql', 'customer', 'route']) {
      expect(SERVICE_PALETTE).toContain(serviceColor(name));
    }
  });

  it('spreads similar names over many colours', () => {
    const names = Array.from({ length: 40 }, (_, i) => `service-${i}`);
    const colours = new Set(names.map(serviceColor));
    expect(colours.size).toBeGreaterThanOrEqual(12);
  });
});
