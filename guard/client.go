package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/keyward/keyward/models"
)

// VerifyPath is the path of Keyward's verify endpoint.
const VerifyPath = "/api/v1/verify"

// VerifyRequestBody is the JSON body of POST /api/v1/verify.
type VerifyRequestBody struct {
	Token    string `json:"token"`
	Scope    string `json:"scope,omitempty"`
	Audience string `json:"audience,omitempty"`
	IP       string `json:"ip,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	Method   string `json:"method,omitempty"`
}

// VerifyResponse is the JSON answer of POST /api/v1/verify. It is 200 OK for
// every verification that could be made, valid or not; Status is the status
// the resource server should answer its own caller with.
type VerifyResponse struct {
	Valid      bool              `json:"valid"`
	Code       string            `json:"code"`
	Status     int               `json:"status"`
	Message    string            `json:"message"`
	ExpiredAt  *time.Time        `json:"expired_at,omitempty"`
	RetryAfter int               `json:"retry_after,omitempty"`
	Token      *models.TokenInfo `json:"token"`
	RateLimit  *models.RateLimit `json:"ratelimit"`
}

// NewVerifyResponse turns a result into the endpoint's answer.
func NewVerifyResponse(res *models.VerifyResult) VerifyResponse {
	return VerifyResponse{
		Valid: res.Valid, Code: res.Code, Status: res.Status, Message: res.Message, ExpiredAt: res.ExpiredAt,
		RetryAfter: int(res.RetryAfter / time.Second), Token: res.Token, RateLimit: res.RateLimit,
	}
}

// Result turns the answer back into a verification result.
func (r *VerifyResponse) Result() models.VerifyResult {
	res := models.VerifyResult{
		Valid: r.Valid && r.Code == models.CodeOK, Code: r.Code, Status: r.Status, Message: r.Message,
		ExpiredAt: r.ExpiredAt, RetryAfter: time.Duration(r.RetryAfter) * time.Second, Token: r.Token, RateLimit: r.RateLimit,
	}
	if res.Status == 0 {
		res.Status = models.CodeStatus(res.Code)
	}
	if res.Code == models.CodeInsufficientPermissions {
		res.MissingScope = strings.TrimPrefix(res.Message, "Missing required permission: ")
	}
	return res
}

// Client verifies tokens through a Keyward server's POST /api/v1/verify,
// authenticating with a service token that holds tokens:verify. It implements
// Verifier and is safe for concurrent use. When Keyward cannot be reached or
// refuses the service token, it fails closed: the result is unavailable (503)
// and the cause is logged.
type Client struct {
	url          string
	serviceToken string
	http         *http.Client
	log          *slog.Logger
}

// ClientOptions configure a Client.
type ClientOptions struct {
	// HTTPClient sends the requests; nil means one with a 5-second timeout.
	HTTPClient *http.Client
	// Logger receives failures to reach Keyward; nil discards them.
	Logger *slog.Logger
}

// NewClient returns a client for the Keyward server at baseURL (such as
// "https://keyward.internal") using serviceToken.
func NewClient(baseURL, serviceToken string, o ClientOptions) *Client {
	if o.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64
		o.HTTPClient = &http.Client{Timeout: 5 * time.Second, Transport: tr}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{url: strings.TrimRight(baseURL, "/") + VerifyPath, serviceToken: serviceToken, http: o.HTTPClient, log: o.Logger}
}

// Verify asks Keyward about token. A missing or malformed token is answered
// here without a network round trip, exactly as Keyward would answer it.
func (c *Client) Verify(ctx context.Context, token string, req models.VerifyRequest) models.VerifyResult {
	if token == "" {
		return models.VerifyResult{Code: models.CodeMissingAuth, Status: http.StatusUnauthorized, Message: "Missing or invalid Authorization header: send Authorization: Bearer <token>."}
	}
	if _, err := models.ParseToken(token); err != nil {
		// Keyward would refuse it without touching its database; so do we,
		// without touching the network.
		msg := "Invalid API key: it is not in the form prefix_id_secret."
		if errors.Is(err, models.ErrTokenChecksum) {
			msg = "Invalid API key: its checksum does not match, so it was probably mistyped or cut short."
		}
		return models.VerifyResult{Code: models.CodeInvalidKey, Status: http.StatusUnauthorized, Message: msg}
	}
	body := VerifyRequestBody{Token: token, Scope: req.Scope, Audience: req.Audience, Endpoint: req.Endpoint, Method: req.Method}
	if req.IP.IsValid() {
		body.IP = req.IP.String()
	}
	res, err := c.call(ctx, body)
	if err != nil {
		c.log.Error("guard: keyward verify failed; refusing the request", "err", err)
		return models.VerifyResult{Code: models.CodeUnavailable, Status: http.StatusServiceUnavailable,
			Message: "The API key could not be checked right now. Try again in a moment."}
	}
	return res
}

// unknownScope is the answer to a scope the policy does not declare; in
// process the verifier reports it as a missing permission, and so does the
// client, after logging what is really a bug in the guarded service.
func unknownScope(scope string) models.VerifyResult {
	return models.VerifyResult{Code: models.CodeInsufficientPermissions, Status: http.StatusForbidden,
		Message: "Missing required permission: " + scope, MissingScope: scope}
}

func (c *Client) call(ctx context.Context, body VerifyRequestBody) (models.VerifyResult, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return models.VerifyResult{}, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(b))
	if err != nil {
		return models.VerifyResult{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+c.serviceToken)
	resp, err := c.http.Do(hreq)
	if err != nil {
		return models.VerifyResult{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return models.VerifyResult{}, err
	}
	if resp.StatusCode == http.StatusOK {
		var vr VerifyResponse
		if err := json.Unmarshal(data, &vr); err != nil || vr.Code == "" {
			return models.VerifyResult{}, fmt.Errorf("keyward answered 200 with a body that is not a verify response: %.200s", data)
		}
		return vr.Result(), nil
	}
	var er ErrorResponse
	_ = json.Unmarshal(data, &er)
	if resp.StatusCode == http.StatusBadRequest && er.Error.Code == "invalid_request" && er.Error.Field == "scope" {
		c.log.Error("guard: a route requires a scope the Keyward policy does not declare", "scope", body.Scope, "message", er.Error.Message)
		return unknownScope(body.Scope), nil
	}
	return models.VerifyResult{}, fmt.Errorf("keyward answered %d %s: %s", resp.StatusCode, er.Error.Code, er.Error.Message)
}
