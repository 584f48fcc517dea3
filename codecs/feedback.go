package codecs

import (
	"fmt"
	"slices"
)

// Feedback categories a user can tick.
var FeedbackCategories = []string{"incorrect", "incomplete", "unhelpful", "unsafe", "slow", "off_topic", "other"}

// Feedback is the payload of feedback.submitted on ai-feedback-events: one
// user's rating of one AI response. At least one of Thumbs and Score is set.
type Feedback struct {
	ResponseID string   `json:"response_id"`
	TraceID    string   `json:"trace_id"`
	SessionID  string   `json:"session_id"`
	UserID     string   `json:"user_id"`
	Agent      string   `json:"agent"`
	Model      string   `json:"model"`
	Thumbs     string   `json:"thumbs,omitempty"` // "up" or "down"
	Score      *int     `json:"score,omitempty"`  // 1..5
	Categories []string `json:"categories,omitempty"`
	Comment    string   `json:"comment,omitempty"`
}

// Validate implements Payload.
func (f *Feedback) Validate() error {
	if err := first(
		required("response_id", f.ResponseID), required("trace_id", f.TraceID),
		required("session_id", f.SessionID), required("user_id", f.UserID),
		required("agent", f.Agent), required("model", f.Model),
		maxLen("comment", f.Comment, maxTextBytes),
	); err != nil {
		return err
	}
	if f.Thumbs == "" && f.Score == nil {
		return Reject(ReasonMissingField, "thumbs", "a rating is required: thumbs (up/down) and/or score (1-5)")
	}
	if f.Thumbs != "" {
		if err := oneOf("thumbs", f.Thumbs, "up", "down"); err != nil {
			return err
		}
	}
	if f.Score != nil && (*f.Score < 1 || *f.Score > 5) {
		return Reject(ReasonInvalidValue, "score", "must be an integer from 1 to 5, got %d", *f.Score)
	}
	for i, c := range f.Categories {
		if !slices.Contains(FeedbackCategories, c) {
			return oneOf(fmt.Sprintf("categories[%d]", i), c, FeedbackCategories...)
		}
		// Each is one of a few categories, so a repeat is found within the
		// first few.
		if slices.Contains(f.Categories[:i], c) {
			return Reject(ReasonInvalidValue, fmt.Sprintf("categories[%d]", i), "%q listed twice", c)
		}
	}
	return nil
}

// Positive reports whether the rating is favourable: thumbs up, or a score
// of 4 or 5 when there is no thumb.
func (f *Feedback) Positive() bool {
	if f.Thumbs != "" {
		return f.Thumbs == "up"
	}
	return *f.Score >= 4
}

// HasCategory reports whether the user ticked category c.
func (f *Feedback) HasCategory(c string) bool {
	for _, x := range f.Categories {
		if x == c {
			return true
		}
	}
	return false
}
