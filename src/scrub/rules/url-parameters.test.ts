/** A credential in a URL's parameters under a short name: each went out bare on 50d3922. */
import { describe, it } from 'vitest';
import {
  expectLeftAlone,
  expectNoTailInStreams,
  expectRedacted,
  hexSecret,
  secret,
} from '../../../test/helpers/scrub-cases.js';

const hex = hexSecret;

describe("a credential in a URL's parameters", () => {
  const v = secret(24, 81);
  const signature = hex(64, 82);
  expectRedacted({
    "S3's presigned X-Amz-Signature": [
      `https://b.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature=${signature}`,
      signature,
    ],
    "GCS's X-Goog-Signature": [
      `https://storage.googleapis.com/b/o?X-Goog-Expires=900&X-Goog-Signature=${signature}`,
      signature,
    ],
    "CloudFront's Signature": [
      `https://d1.cloudfront.net/a.jpg?Expires=1700000000&Signature=${v}&Key-Pair-Id=K2J`,
      v,
    ],
    'an API key= parameter': [`curl "https://api.example.com/v1/items?key=${v}"`, v],
    "an OAuth callback's code": [`GET /callback?code=${v}&state=af0ifjsldkj HTTP/1.1`, v],
    'a session in a fragment': [`https://app.example.com/#session=${v}`, v],
    'auth=': [`https://example.com/feed.xml?auth=${v}`, v],
  });
  expectLeftAlone({
    'a slug as the key': 'https://example.com/api?key=orders-list-2024',
    'a status code': 'https://example.com/done?code=200&state=ok',
    'a short session number': 'https://example.com/search?sid=12345&key=value',
    'a word joined by underscores': 'https://example.com/run?code=print_hello_world',
    'a key outside a URL': 'the key=Qx7vLp2mZr9TkW4s shown in prose',
  });
});

describe('in a stream', () => {
  const v = secret(24, 83);
  it('redacts a presigned URL cut at every position and in small chunks', () =>
    expectNoTailInStreams(
      `link: https://d1.cloudfront.net/a.jpg?Expires=1&Signature=${v}&Key-Pair-Id=K\n`,
      v.slice(-8),
    ));
});
